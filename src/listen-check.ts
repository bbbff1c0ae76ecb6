import { createServer } from 'node:net'

/**
 * Why the service could not listen on HOST:PORT, as it or the probe below failed: the usual
 * reasons as one line naming the setting to change (the port taken or below 1024 without the
 * right, the address not one of this machine's); undefined for others, which the caller logs
 * whole.
 */
export function listenProblem(
  err: unknown,
  { HOST, PORT }: { HOST: string; PORT: number },
): string | undefined {
  const code = (err as { code?: unknown }).code
  if (code === 'EADDRINUSE')
    return `Could not start: PORT ${PORT} is in use on ${HOST} (EADDRINUSE): stop what listens there or give another PORT`
  if (code === 'EACCES')
    return `Could not start: PORT ${PORT} on ${HOST} needs privileges this process lacks (EACCES): give a PORT of 1024 or more`
  if (code === 'EADDRNOTAVAIL')
    return `Could not start: HOST ${HOST} is not an address of this machine (EADDRNOTAVAIL): give one of its addresses, 0.0.0.0 for all or 127.0.0.1 for this machine only`
  return undefined
}

/**
 * Binds HOST:PORT and lets go at once, before the database is opened and migrated (on the
 * embedded default a first start creates it, a minute): a port in use was told only after that.
 * Returns listenProblem's line, or undefined when the bind worked (or failed for another reason:
 * the real listen reports that one whole) and the socket is closed again. PORT 0 (any free port)
 * is not checked. Run by the process that binds: the single process, or the cluster's primary,
 * which holds the port its workers listen on (a worker's listen is handed to it).
 */
export async function bindProblem(config: {
  HOST: string
  PORT: number
}): Promise<string | undefined> {
  if (config.PORT === 0) return undefined
  const probe = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.listen({ port: config.PORT, host: config.HOST }, resolve)
    })
  } catch (err) {
    return listenProblem(err, config)
  }
  // Closed before the service listens: a listening socket leaves no TIME_WAIT behind.
  await new Promise((resolve) => probe.close(resolve))
  return undefined
}
