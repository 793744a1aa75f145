/**
 * Named points where a test can make this process die abruptly (SIGKILL), to prove that a crash
 * there loses nothing and applies nothing twice. Off unless WBC_FAILPOINT names the point.
 */
export type Failpoint = 'after-claim' | 'mid-transaction' | 'after-commit' | 'during-checkpoint'

export function failpoint(name: Failpoint): void {
  if (process.env.WBC_FAILPOINT === name) process.kill(process.pid, 'SIGKILL')
}
