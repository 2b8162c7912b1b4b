// Children that die with the lab, even when the lab is killed with SIGKILL and no handler or
// cleanup stack gets to run. The kernel does it: prctl(PR_SET_PDEATHSIG) through util-linux's
// `setpriv --pdeathsig`, set before the command is exec'd.
//
// Interface (for every caller that spawns something long-lived: QEMU, make):
//
//   const w = dieWithLab(argv)            // one process (QEMU): it gets SIGKILL when the lab dies
//   const w = dieWithLab(argv, 'group')   // a process tree (make → gcc): the whole group gets SIGKILL
//   execa(w.file, w.args, { ...yourOptions, ...w.options })
//
//   - w.options is { detached: true }: the child leads its own session and process group, so a
//     Ctrl-C at the terminal reaches only the lab, which then tears its children down in order.
//   - 'process': the command is exec'd in place, so child.pid IS the command's pid (the QEMU
//     registry and /proc checks rely on it) and its exit status and signal are its own.
//   - 'group': a small guard (sh) runs the command in the background inside the guard's process
//     group and waits. When the lab dies the guard gets SIGTERM and kills the whole group with
//     SIGKILL; killing the guard yourself (child.kill(), execa's cancelSignal/timeout: SIGTERM)
//     does the same, so "stop the build" kills make's compilers too. child.pid is the guard's,
//     which is also the group id. A command killed by signal N reads as exit code 128+N (the
//     shell's convention); a guard killed for the group reads as signal SIGKILL.
//   - The race "lab dies between fork and prctl" is closed: the guard checks that its parent is
//     still the lab after the death signal is armed, and exits 137 otherwise.
//
// A detached guest (`./labw boot --keep`, --keep-failed) must outlive the lab: do not wrap it.
// The shell here is two fixed lines; the command's argv is passed as "$@", never interpolated.
const SETPRIV = 'setpriv';

export type ReapMode = 'process' | 'group';

export interface Reaped {
  file: string;
  args: string[];
  options: { detached: true };
}

// $0 is the lab's pid. "$PPID" is the parent when the shell started, i.e. after setpriv armed
// the death signal: if the lab was already gone by then, nothing would ever deliver it.
const parentCheck = '[ "$PPID" = "$0" ] || exit 137';
const SCRIPTS: Record<ReapMode, string> = {
  process: `${parentCheck}; exec "$@"`,
  // A background job's stdin is /dev/null: the guard's own is passed on through fd 3.
  group: `${parentCheck}; trap 'kill -KILL 0' TERM INT HUP; exec 3<&0; "$@" <&3 3<&- & exec 3<&-; wait $!`,
};
const SIGNAL: Record<ReapMode, string> = { process: 'KILL', group: 'TERM' };

export function dieWithLab(argv: readonly string[], mode: ReapMode = 'process'): Reaped {
  if (argv.length === 0) throw new Error('dieWithLab: empty argv');
  return {
    file: SETPRIV,
    args: ['--pdeathsig', SIGNAL[mode], '--', 'sh', '-c', SCRIPTS[mode], String(process.pid), ...argv],
    options: { detached: true },
  };
}
