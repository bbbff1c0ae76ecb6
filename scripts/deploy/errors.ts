/**
 * A failure the person running the command can fix (missing input, bad file,
 * rejected template). It is printed as-is, without a stack trace.
 */
export class DeployError extends Error {
  override name = 'DeployError'
  readonly exitCode: number

  constructor(message: string, exitCode = 2) {
    super(message)
    this.exitCode = exitCode
  }
}
