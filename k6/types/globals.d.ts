// Globals that the k6 runtime provides but @types/k6 does not declare.
// Only what these scripts use; keep it small so typos still fail the check.
declare global {
  var console: {
    log(...args: unknown[]): void
    info(...args: unknown[]): void
    warn(...args: unknown[]): void
    error(...args: unknown[]): void
    debug(...args: unknown[]): void
  }
}

export {}
