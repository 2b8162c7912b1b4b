/* A minimal NVMe admin-queue driver over a bound VFIO cdev fd, so a
 * scenario can make the device DMA (fetch a command, write Identify data,
 * post a completion) and see where that DMA lands.
 *
 * nvme-enable sets the controller up with one admin SQ/CQ pair (16 entries
 * each, one page each); nvme-identify submits Identify Controller and polls
 * the CQ; nvme-disable clears CC.EN. Interrupts stay masked (INTMS): the
 * probe polls. Nothing here judges success; reports carry what the
 * registers and queues said.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
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

/* Controller registers (NVMe base spec, "Controller Registers"). */
#define REG_CAP 0x00
#define REG_INTMS 0x0c
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define REG_DBS 0x1000	/* SQ0TDBL; CQ0HDBL follows at the doorbell stride */

#define CSTS_RDY (1u << 0)
#define CSTS_CFS (1u << 1)
#define CC_EN (1u << 0)
/* IOCQES=4 (16-byte CQEs), IOSQES=6 (64-byte SQEs), MPS=0 (4 KiB), EN. */
#define CC_ENABLE 0x00460001u

#define QDEPTH 16
#define AQA_VALUE (((QDEPTH - 1u) << 16) | (QDEPTH - 1u))
#define SQE_SIZE 64
#define CQE_SIZE 16
#define OPC_IDENTIFY 0x06
#define CNS_CONTROLLER 1

#define DEFAULT_ENABLE_TIMEOUT_MS 2000
#define DEFAULT_CMD_TIMEOUT_MS 1000

struct nvme {
	struct bar bar;
	bool usable;			/* registers reachable; cleared by nvme-disable */
	uint8_t *sq, *cq;
	unsigned sq_tail, cq_head, phase;
	uint16_t next_cid;
	uint32_t sq_db, cq_db;
};

static uint32_t csts_of(struct nvme *n)
{
	return bar_rd32(&n->bar, REG_CSTS);
}

/* Polls CSTS until RDY equals want_rdy (or, when stop_on_cfs, CFS is set);
 * returns true on timeout. */
static bool wait_rdy(struct nvme *n, bool want_rdy, bool stop_on_cfs,
		     long long timeout_ms, uint32_t *csts)
{
	long long deadline = mono_ms() + timeout_ms;

	for (;;) {
		*csts = csts_of(n);
		if (!!(*csts & CSTS_RDY) == want_rdy)
			return false;
		if (stop_on_cfs && (*csts & CSTS_CFS))
			return false;
		if (mono_ms() >= deadline)
			return true;
		poll_pause();
	}
}

static void emit_csts(uint32_t csts)
{
	json_kv_hex("csts", csts);
	json_kv_bool("rdy", csts & CSTS_RDY);
	json_kv_bool("cfs", csts & CSTS_CFS);
}

static void emit_null_fields(const char *const *names)
{
	for (; *names; names++)
		json_kv_null(*names);
}

static long long timeout_of(const struct step *s, long long dflt)
{
	return scaled_ms((s->opts & OPT_TIMEOUT) ? (long long)s->timeout : dflt);
}

static void emit_hex_or_null(const char *key, bool have, uint64_t v)
{
	json_key(key);
	if (have)
		json_hex(v);
	else
		json_null();
}

/* nvme-enable DEV IFD IOAS SQ_IOVA CQ_IOVA [nomap] [timeout=MS] */
void op_nvme_enable(struct htab *h, const struct step *s)
{
	static const char *const dev_fields[] = { "cap", "csts_before",
		"disable_timed_out", "csts", "rdy", "cfs", "timed_out", "elapsed_ms", NULL };
	int fd = step_fd(h, s, 0), ifd = step_fd(h, s, 1);
	uint32_t ioas = step_id(h, s, 2);
	long long timeout = timeout_of(s, DEFAULT_ENABLE_TIMEOUT_MS), t0;
	bool mapped = false, have_iovas = false, disable_to = false, to;
	uint64_t sq_iova = 0, cq_iova = 0, cap;
	struct handle *sqh, *cqh, *nvh;
	uint32_t csts_before, csts = 0;
	const char *stage = NULL;
	uint16_t command = 0;
	struct sysret r;
	struct nvme *n;
	char name[256];

	/* All three handles exist before any pointer is taken: htab_put may
	 * move the table. */
	snprintf(name, sizeof(name), "%s.sq", s->pos[0]);
	htab_put(h, name, H_BUF);
	snprintf(name, sizeof(name), "%s.cq", s->pos[0]);
	htab_put(h, name, H_BUF);
	snprintf(name, sizeof(name), "%s.nvme", s->pos[0]);
	htab_put(h, name, H_NVME);
	sqh = step_handle(h, s, 0, ".sq");
	cqh = step_handle(h, s, 0, ".cq");
	nvh = step_handle(h, s, 0, ".nvme");

	n = calloc(1, sizeof(*n));
	if (!n) {
		errno = ENOMEM;
		r = sysret_of(-1);
		stage = "alloc";
		goto report;
	}
	nvh->priv = n;
	if (pci_dev_open(fd, VFIO_PCI_BAR0_REGION_INDEX, &n->bar, &command, &r, &stage) < 0)
		goto report;

	r = buf_create(sqh, BUF_PAGE, 0, &stage);
	if (r.ret == 0)
		r = buf_create(cqh, BUF_PAGE, 0, &stage);
	if (r.ret < 0) {
		stage = buf_of(sqh) ? "cq-buffer" : "sq-buffer";
		goto fail;
	}
	n->sq = sqh->addr;
	n->cq = cqh->addr;
	sq_iova = step_is_own_gpa(s, 3) ? buf_gpa_at(sqh, 0) : step_addr(h, s, 3);
	cq_iova = step_is_own_gpa(s, 4) ? buf_gpa_at(cqh, 0) : step_addr(h, s, 4);
	have_iovas = true;
	if (!(s->opts & OPT_NOMAP)) {
		/* Both writable: the device only reads the SQ, but a read-only
		 * pin of memory we keep writing to is a needless subtlety. */
		r = ioas_map(ifd, ioas, n->sq, BUF_PAGE, sq_iova, true);
		if (r.ret < 0) {
			stage = "map-sq";
			goto fail;
		}
		r = ioas_map(ifd, ioas, n->cq, BUF_PAGE, cq_iova, true);
		if (r.ret < 0) {
			/* Leave the IOAS as we found it. */
			ioas_unmap(ifd, ioas, sq_iova, BUF_PAGE);
			stage = "map-cq";
			goto fail;
		}
		mapped = true;
	}

	t0 = mono_ms();
	cap = bar_rd32(&n->bar, REG_CAP) | (uint64_t)bar_rd32(&n->bar, REG_CAP + 4) << 32;
	csts_before = csts_of(n);
	if (bar_rd32(&n->bar, REG_CC) & CC_EN) {
		bar_wr32(&n->bar, REG_CC, bar_rd32(&n->bar, REG_CC) & ~CC_EN);
		disable_to = wait_rdy(n, false, false, timeout, &csts);
	}
	/* Pin-based interrupts off; QEMU honours INTMS while MSI-X is off,
	 * which it stays since nobody sets up vectors. */
	bar_wr32(&n->bar, REG_INTMS, 0xffffffffu);
	bar_wr32(&n->bar, REG_AQA, AQA_VALUE);
	bar_wr32(&n->bar, REG_ASQ, (uint32_t)sq_iova);
	bar_wr32(&n->bar, REG_ASQ + 4, (uint32_t)(sq_iova >> 32));
	bar_wr32(&n->bar, REG_ACQ, (uint32_t)cq_iova);
	bar_wr32(&n->bar, REG_ACQ + 4, (uint32_t)(cq_iova >> 32));
	bar_wr32(&n->bar, REG_CC, CC_ENABLE);
	to = wait_rdy(n, true, true, timeout, &csts);

	n->sq_db = REG_DBS;
	n->cq_db = REG_DBS + (4u << ((cap >> 32) & 0xf));	/* CAP.DSTRD */
	n->phase = 1;	/* the CQ page is zeroed: the first entry posted has P=1 */
	n->usable = true;
	nvh->addr = n->bar.map ? (void *)n->bar.map : MAP_FAILED;
	nvh->len = n->bar.map_len;

	emit_sysret(r);
	json_kv_null("stage");
	pci_emit(&n->bar, command);
	json_kv_hex("sq_iova", sq_iova);
	json_kv_hex("cq_iova", cq_iova);
	json_kv_bool("mapped", mapped);
	emit_hex_or_null("sq_gpa", buf_gpa_at(sqh, 0), buf_gpa_at(sqh, 0));
	emit_hex_or_null("cq_gpa", buf_gpa_at(cqh, 0), buf_gpa_at(cqh, 0));
	json_kv_hex("cap", cap);
	json_kv_hex("csts_before", csts_before);
	json_kv_bool("disable_timed_out", disable_to);
	emit_csts(csts);
	json_kv_bool("timed_out", to);
	json_kv_int("elapsed_ms", mono_ms() - t0);
	return;

fail:
	/* Not left mapped: a BAR mapping would keep the device bound after
	 * the script closes its fd. */
	bar_close(&n->bar);
report:
	emit_sysret(r);
	json_kv_string("stage", stage);
	pci_emit(n ? &n->bar : NULL, command);
	emit_hex_or_null("sq_iova", have_iovas, sq_iova);
	emit_hex_or_null("cq_iova", have_iovas, cq_iova);
	json_kv_bool("mapped", mapped);
	emit_hex_or_null("sq_gpa", buf_gpa_at(sqh, 0), buf_gpa_at(sqh, 0));
	emit_hex_or_null("cq_gpa", buf_gpa_at(cqh, 0), buf_gpa_at(cqh, 0));
	emit_null_fields(dev_fields);
}

/* The controller state behind an N argument, or NULL (with the step's
 * EBADF failure written) when nvme-enable did not get that far or
 * nvme-disable released it. */
static struct nvme *need_nvme(struct htab *h, const struct step *s,
			      const char *const *null_fields)
{
	struct handle *nvh = step_handle(h, s, 0, ".nvme");
	struct nvme *n = nvh ? nvh->priv : NULL;

	if (n && n->usable)
		return n;
	errno = EBADF;
	emit_sysret(sysret_of(-1));
	json_kv_string("stage", "state");
	emit_null_fields(null_fields);
	return NULL;
}

/* nvme-identify DEV PRP1 [timeout=MS] */
void op_nvme_identify(struct htab *h, const struct step *s)
{
	static const char *const fields[] = { "cid", "prp1", "completed", "timed_out",
		"status", "cqe_cid", "sq_head", "csts", "rdy", "cfs", "elapsed_ms",
		"bar_errname", NULL };
	struct nvme *n = need_nvme(h, s, fields);
	long long timeout = timeout_of(s, DEFAULT_CMD_TIMEOUT_MS), t0, deadline;
	uint64_t prp1 = step_addr(h, s, 1);
	uint32_t dw[4] = { 0 }, sqe[SQE_SIZE / 4] = { 0 };
	bool completed = false;
	uint16_t cid;

	if (!n)
		return;
	cid = n->next_cid++;
	sqe[0] = OPC_IDENTIFY | (uint32_t)cid << 16;	/* CDW0: opcode, CID */
	sqe[6] = (uint32_t)prp1;			/* PRP1 (bytes 24-31) */
	sqe[7] = (uint32_t)(prp1 >> 32);
	sqe[10] = CNS_CONTROLLER;			/* CDW10 */
	memcpy(n->sq + n->sq_tail * SQE_SIZE, sqe, sizeof(sqe));
	n->sq_tail = (n->sq_tail + 1) % QDEPTH;

	t0 = mono_ms();
	deadline = t0 + timeout;
	bar_wr32(&n->bar, n->sq_db, n->sq_tail);
	for (;;) {
		volatile uint32_t *cqe = (volatile uint32_t *)(n->cq + n->cq_head * CQE_SIZE);

		if (((cqe[3] >> 16) & 1) == n->phase) {
			__sync_synchronize();
			for (int i = 0; i < 4; i++)
				dw[i] = cqe[i];
			completed = true;
			break;
		}
		if (mono_ms() >= deadline)
			break;
		poll_pause();
	}
	if (completed) {
		n->cq_head = (n->cq_head + 1) % QDEPTH;
		if (n->cq_head == 0)
			n->phase ^= 1;
		bar_wr32(&n->bar, n->cq_db, n->cq_head);
	}

	emit_sysret(sysret_of(0));
	json_kv_null("stage");
	json_kv_uint("cid", cid);
	json_kv_hex("prp1", prp1);
	json_kv_bool("completed", completed);
	json_kv_bool("timed_out", !completed);
	if (completed) {
		json_kv_uint("status", dw[3] >> 17);	/* SC, SCT, CRD, M, DNR */
		json_kv_uint("cqe_cid", dw[3] & 0xffff);
		json_kv_uint("sq_head", dw[2] & 0xffff);
	} else {
		json_kv_null("status");
		json_kv_null("cqe_cid");
		json_kv_null("sq_head");
	}
	emit_csts(csts_of(n));
	json_kv_int("elapsed_ms", mono_ms() - t0);
	json_kv_errname("bar_errname", n->bar.io_err);
}

/* nvme-disable DEV [timeout=MS] */
void op_nvme_disable(struct htab *h, const struct step *s)
{
	static const char *const fields[] = { "csts", "rdy", "cfs", "timed_out",
		"elapsed_ms", NULL };
	struct nvme *n = need_nvme(h, s, fields);
	struct handle *nvh = step_handle(h, s, 0, ".nvme");
	long long t0 = mono_ms();
	uint32_t csts;
	struct sysret r;
	bool to;

	if (!n)
		return;
	bar_wr32(&n->bar, REG_CC, bar_rd32(&n->bar, REG_CC) & ~CC_EN);
	to = wait_rdy(n, false, false, timeout_of(s, DEFAULT_ENABLE_TIMEOUT_MS), &csts);
	/* The BAR mapping goes too: it would keep the device bound after the
	 * fd is closed (see README). */
	r = bar_close(&n->bar);
	n->usable = false;
	nvh->addr = MAP_FAILED;
	emit_sysret(r);
	json_kv_string("stage", r.ret < 0 ? "munmap" : NULL);
	emit_csts(csts);
	json_kv_bool("timed_out", to);
	json_kv_int("elapsed_ms", mono_ms() - t0);
}
