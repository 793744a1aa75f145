/**
 * Named points where a test can make this process die abruptly (SIGKILL), to prove that a crash
 * there loses nothing and applies nothing twice. Off unless WBC_FAILPOINT names the point.
 */
export type Failpoint =
  'after-claim' | 'mid-transaction' | 'after-commit' | 'during-checkpoint' | 'after-dead-ledger' | 'before-claim' | 'before-claim-step' | 'before-set-aside-rows' | 'after-set-aside-rows'

/**
 * `WBC_FAILPOINT=after-claim` kills the process there; `WBC_FAILPOINT=after-claim:stop` stops it
 * (SIGSTOP) instead, to stand for a flusher paused past its lease (GC pause, VM freeze).
 */
export function failpoint(name: Failpoint): void {
  const wanted = process.env.WBC_FAILPOINT
  if (!wanted) return
  if (wanted === name) process.kill(process.pid, 'SIGKILL')
  else if (wanted === `${name}:stop`) {
    delete process.env.WBC_FAILPOINT // Once: after SIGCONT the flusher carries on.
    process.kill(process.pid, 'SIGSTOP')
  }
}
