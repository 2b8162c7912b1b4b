/* e1000-loopback: one frame through an e1000's TX and RX rings with the
 * PHY in loopback, so the device DMA-reads a TX descriptor and buffer and
 * DMA-writes a frame and an RX descriptor, all at IOVAs the script picks.
 *
 * QEMU's e1000 model (hw/net/e1000.c) loops a frame back only when the
 * PHY's BMCR loopback bit is set (e1000_send_packet); it ignores the MAC
 * loopback field RCTL.LBM. PHY loopback is also what real 8254x silicon
 * offers for this, so that is what the step uses.
 *
 * The step is self-contained: it maps its rings and TX buffer, runs, stops
 * the device, and unmaps what it mapped, so it can run again at the same
 * IOVAs. The RX buffer is the caller's buffer handle, so a scenario can
 * buf-check it afterwards, or leave it unmapped (nomap-rx) and aim the RX
 * descriptor at its GPA to make it a canary.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "buf.h"
#include "clock.h"
#include "ioas.h"
#include "json.h"
#include "ops.h"
#include "pci_dev.h"
#include "result.h"

/* Registers (8254x SDM, section 13). */
#define REG_CTRL 0x0000
#define REG_STATUS 0x0008
#define REG_MDIC 0x0020
#define REG_ICR 0x00c0
#define REG_IMC 0x00d8
#define REG_RCTL 0x0100
#define REG_TCTL 0x0400
#define REG_RDBAL 0x2800
#define REG_RDBAH 0x2804
#define REG_RDLEN 0x2808
#define REG_RDH 0x2810
#define REG_RDT 0x2818
#define REG_TDBAL 0x3800
#define REG_TDBAH 0x3804
#define REG_TDLEN 0x3808
#define REG_TDH 0x3810
#define REG_TDT 0x3818

#define CTRL_SLU (1u << 6)
#define RCTL_EN (1u << 1)
#define RCTL_UPE (1u << 3)
#define RCTL_MPE (1u << 4)
#define RCTL_BAM (1u << 15)
#define RCTL_SECRC (1u << 26)	/* strip the CRC: rx_length = frame length */
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)

#define MDIC_PHY1 (1u << 21)
#define MDIC_OP_WRITE (1u << 26)
#define MDIC_OP_READ (2u << 26)
#define MDIC_READY (1u << 28)
#define MDIC_ERROR (1u << 30)
#define PHY_BMCR 0
#define BMCR_LOOPBACK 0x4000

#define TXD_CMD_EOP 0x01
#define TXD_CMD_IFCS 0x02
#define TXD_CMD_RS 0x08
#define DESC_DD 0x01

/* The smallest ring the hardware takes: RDLEN/TDLEN are multiples of 128
 * bytes, i.e. 8 descriptors of 16 bytes. Only descriptor 0 is used. */
#define RING_BYTES 128
#define FRAME_LEN 128
#define DEFAULT_TIMEOUT_MS 1000
/* QEMU's e1000 holds received frames back for 1000 ms (virtual clock)
 * after every RCTL write (flush_queue_timer), and a looped-back frame that
 * arrives then is dropped, not queued. */
#define RX_SETTLE_MS 1100
#define MDIC_TIMEOUT_MS 100

struct desc {
	uint64_t addr;
	uint32_t lower;		/* TX: length | cso << 16 | cmd << 24; RX: length | csum << 16 */
	uint32_t upper;		/* TX: status | css << 8 | special << 16; RX: status | errors << 8 | special << 16 */
};

struct run {
	struct bar bar;
	uint16_t command;
	const char *stage;
	struct sysret r;
	bool mdic_error;
	uint32_t bmcr, status, icr, tdh, rdh;
	bool tx_done, rx_done, payload_match;
	struct desc txd, rxd;
	long long elapsed_ms;
	int cleanup_err;	/* errno of the first failed unmap, 0 if none */
};

/* MDIC access to PHY 1; returns the data, sets *err on MDIC.E or timeout. */
static uint16_t mdic(struct bar *b, uint32_t op, unsigned reg, uint16_t data, bool *err)
{
	long long deadline = mono_ms() + scaled_ms(MDIC_TIMEOUT_MS);
	uint32_t v;

	bar_wr32(b, REG_MDIC, op | MDIC_PHY1 | (uint32_t)reg << 16 | data);
	do {
		v = bar_rd32(b, REG_MDIC);
		if (v & MDIC_READY)
			break;
		poll_pause();
	} while (mono_ms() < deadline);
	if (!(v & MDIC_READY) || (v & MDIC_ERROR))
		*err = true;
	return (uint16_t)v;
}

static void make_frame(uint8_t *f)
{
	static const uint8_t hdr[14] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* broadcast */
		0x02, 0x00, 0x00, 0x1a, 0xb0, 0x01,	/* locally administered */
		0x88, 0xb5,				/* local experimental ethertype */
	};
	static const char text[] = "iommufd-lab e1000 loopback";

	memcpy(f, hdr, sizeof(hdr));
	memcpy(f + sizeof(hdr), text, sizeof(text));
	for (size_t i = sizeof(hdr) + sizeof(text); i < FRAME_LEN; i++)
		f[i] = (uint8_t)(i * 7);
}

static void *page_or_fail(struct run *u, const char *stage)
{
	struct handle tmp = { .kind = H_BUF, .addr = MAP_FAILED };
	const char *st;

	u->r = buf_create(&tmp, BUF_PAGE, 0, &st);
	if (u->r.ret < 0) {
		u->stage = stage;
		return NULL;
	}
	/* Never freed: if a later unmap failed, the device could still
	 * reach these pages. They go away with the probe. */
	return tmp.addr;
}

static void device_run(struct run *u, uint8_t *txring, uint8_t *rxring,
		       uint64_t txring_iova, uint64_t rxring_iova,
		       uint64_t txbuf_iova, uint64_t rxbuf_iova,
		       const uint8_t *frame, const uint8_t *rxbuf, long long timeout)
{
	struct bar *b = &u->bar;
	struct desc d = { 0 };
	long long t0 = mono_ms(), deadline;
	uint16_t bmcr;

	bar_wr32(b, REG_IMC, 0xffffffffu);	/* the probe polls */
	bar_rd32(b, REG_ICR);
	bar_wr32(b, REG_RCTL, 0);
	bar_wr32(b, REG_TCTL, 0);
	bar_wr32(b, REG_CTRL, bar_rd32(b, REG_CTRL) | CTRL_SLU);
	bmcr = mdic(b, MDIC_OP_READ, PHY_BMCR, 0, &u->mdic_error);
	mdic(b, MDIC_OP_WRITE, PHY_BMCR, bmcr | BMCR_LOOPBACK, &u->mdic_error);
	u->bmcr = mdic(b, MDIC_OP_READ, PHY_BMCR, 0, &u->mdic_error);

	d.addr = rxbuf_iova;
	memcpy(rxring, &d, sizeof(d));
	bar_wr32(b, REG_RDBAL, (uint32_t)rxring_iova);
	bar_wr32(b, REG_RDBAH, (uint32_t)(rxring_iova >> 32));
	bar_wr32(b, REG_RDLEN, RING_BYTES);
	bar_wr32(b, REG_RDH, 0);
	bar_wr32(b, REG_RDT, 0);
	bar_wr32(b, REG_RCTL, RCTL_EN | RCTL_UPE | RCTL_MPE | RCTL_BAM | RCTL_SECRC);
	bar_wr32(b, REG_RDT, 1);	/* descriptor 0 belongs to the device */

	d.addr = txbuf_iova;
	d.lower = FRAME_LEN | (uint32_t)(TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS) << 24;
	memcpy(txring, &d, sizeof(d));
	bar_wr32(b, REG_TDBAL, (uint32_t)txring_iova);
	bar_wr32(b, REG_TDBAH, (uint32_t)(txring_iova >> 32));
	bar_wr32(b, REG_TDLEN, RING_BYTES);
	bar_wr32(b, REG_TDH, 0);
	bar_wr32(b, REG_TDT, 0);
	bar_wr32(b, REG_TCTL, TCTL_EN | TCTL_PSP);

	while (mono_ms() < t0 + RX_SETTLE_MS)
		poll_pause();
	bar_wr32(b, REG_TDT, 1);	/* transmit descriptor 0 */

	deadline = mono_ms() + timeout;
	for (;;) {
		u->tx_done = ((volatile uint8_t *)txring)[12] & DESC_DD;
		u->rx_done = ((volatile uint8_t *)rxring)[12] & DESC_DD;
		if ((u->tx_done && u->rx_done) || mono_ms() >= deadline)
			break;
		poll_pause();
	}
	__sync_synchronize();
	memcpy(&u->txd, txring, sizeof(u->txd));
	memcpy(&u->rxd, rxring, sizeof(u->rxd));
	u->payload_match = memcmp(rxbuf, frame, FRAME_LEN) == 0;
	u->status = bar_rd32(b, REG_STATUS);
	u->tdh = bar_rd32(b, REG_TDH);
	u->rdh = bar_rd32(b, REG_RDH);
	u->icr = bar_rd32(b, REG_ICR);
	u->elapsed_ms = mono_ms() - t0;

	/* Quiesce before the rings are unmapped. */
	bar_wr32(b, REG_RCTL, 0);
	bar_wr32(b, REG_TCTL, 0);
	mdic(b, MDIC_OP_WRITE, PHY_BMCR, bmcr & ~BMCR_LOOPBACK, &u->mdic_error);
}

/* e1000-loopback DEV IFD IOAS TX_RING_IOVA RX_RING_IOVA TX_BUF_IOVA RX_BUF
 *                RX_BUF_IOVA [nomap] [nomap-rx] [timeout=MS] */
void op_e1000_loopback(struct htab *h, const struct step *s)
{
	int fd = step_fd(h, s, 0), ifd = step_fd(h, s, 1);
	uint32_t ioas = step_id(h, s, 2);
	uint64_t iova[4] = { step_addr(h, s, 3), step_addr(h, s, 4),
			     step_addr(h, s, 5), step_addr(h, s, 7) };
	static const char *const map_stage[4] = { "map-tx-ring", "map-rx-ring",
						  "map-tx-buf", "map-rx-buf" };
	struct handle *rxh = htab_get(h, s->pos[6]);
	bool map_rx = !(s->opts & (OPT_NOMAP | OPT_NOMAP_RX));
	struct run u = { .stage = NULL, .cleanup_err = 0 };
	uint8_t *page[4] = { NULL, NULL, NULL, NULL };
	bool mapped[4] = { false, false, false, false };
	uint8_t frame[FRAME_LEN];
	bool ran = false;
	int nmaps;

	make_frame(frame);
	u.r = sysret_of(0);
	if (!buf_of(rxh)) {
		errno = EBADF;
		u.r = sysret_of(-1);
		u.stage = "rx-buffer";
		goto report;
	}
	if (pci_dev_open(fd, VFIO_PCI_BAR0_REGION_INDEX, &u.bar, &u.command, &u.r,
			 &u.stage) < 0)
		goto report;
	if (!(page[0] = page_or_fail(&u, "tx-ring")) ||
	    !(page[1] = page_or_fail(&u, "rx-ring")) ||
	    !(page[2] = page_or_fail(&u, "tx-buffer")))
		goto cleanup;
	page[3] = rxh->addr;
	memcpy(page[2], frame, FRAME_LEN);

	nmaps = (s->opts & OPT_NOMAP) ? 0 : map_rx ? 4 : 3;
	for (int i = 0; i < nmaps; i++) {
		/* Writeable for all: the device writes descriptors back and the
		 * RX buffer; the TX buffer could be read-only but gains nothing. */
		u.r = ioas_map(ifd, ioas, page[i], i == 3 ? rxh->len : BUF_PAGE,
			       iova[i], true);
		if (u.r.ret < 0) {
			u.stage = map_stage[i];
			goto cleanup;
		}
		mapped[i] = true;
	}
	device_run(&u, page[0], page[1], iova[0], iova[1], iova[2], iova[3], frame,
		   rxh->addr, scaled_ms((s->opts & OPT_TIMEOUT) ? (long long)s->timeout
								: DEFAULT_TIMEOUT_MS));
	ran = true;

cleanup:
	for (int i = 0; i < 4; i++) {
		if (mapped[i]) {
			struct sysret ur = ioas_unmap(ifd, ioas, iova[i],
						      i == 3 ? rxh->len : BUF_PAGE);

			if (ur.ret < 0 && !u.cleanup_err)
				u.cleanup_err = ur.err;
		}
	}
	bar_close(&u.bar);
report:
	emit_sysret(u.r);
	json_kv_string("stage", u.stage);
	pci_emit(u.bar.size ? &u.bar : NULL, u.command);
	json_kv_hex("tx_ring_iova", iova[0]);
	json_kv_hex("rx_ring_iova", iova[1]);
	json_kv_hex("tx_buf_iova", iova[2]);
	json_kv_hex("rx_buf_iova", iova[3]);
	json_kv_bool("mapped_rx", mapped[3]);
	json_kv_errname("unmap_errname", u.cleanup_err);
	json_kv_uint("frame_length", FRAME_LEN);
	if (ran) {
		json_kv_hex("bmcr", u.bmcr);
		json_kv_bool("mdic_error", u.mdic_error);
		json_kv_hex("status", u.status);
		json_kv_bool("tx_done", u.tx_done);
		json_kv_bool("rx_done", u.rx_done);
		json_kv_hex("tx_desc_status", u.txd.upper & 0xff);
		json_kv_uint("rx_length", u.rxd.lower & 0xffff);
		json_kv_hex("rx_desc_status", u.rxd.upper & 0xff);
		json_kv_hex("rx_desc_errors", (u.rxd.upper >> 8) & 0xff);
		json_kv_bool("payload_match", u.payload_match);
		json_kv_uint("tdh", u.tdh);
		json_kv_uint("rdh", u.rdh);
		json_kv_hex("icr", u.icr);
		json_kv_int("elapsed_ms", u.elapsed_ms);
	} else {
		static const char *const f[] = { "bmcr", "mdic_error", "status",
			"tx_done", "rx_done", "tx_desc_status", "rx_length",
			"rx_desc_status", "rx_desc_errors", "payload_match", "tdh",
			"rdh", "icr", "elapsed_ms" };

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			json_kv_null(f[i]);
	}
}
