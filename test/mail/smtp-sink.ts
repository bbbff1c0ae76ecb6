import { createServer } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { expect } from 'vitest'

/** A message the sink accepted: parsed, with the envelope's recipients. */
export interface Received {
  mail: ParsedMail
  rcptTo: string[]
}

/**
 * A real SMTP server on 127.0.0.1 (smtp-server, no TLS, no auth) that keeps every message it
 * accepts, parsed with mailparser (after `delayMs`, a slow server; with `hang`, a server that
 * takes the whole message and never answers it: kept, but never accepted). `listen()` starts it
 * on `port` (0: any free port), `close()` stops it; it can be started again on the same port (a
 * server that comes back).
 */
export function smtpSink(
  port = 0,
  { delayMs = 0, hang = false }: { delayMs?: number; hang?: boolean } = {},
) {
  const received: Received[] = []
  let server: SMTPServer | undefined
  const sink = {
    received,
    port,
    async listen() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS', 'AUTH'],
        logger: false,
        onData(stream, session, callback) {
          const rcptTo = session.envelope.rcptTo.map((r) => r.address)
          simpleParser(stream)
            .then(async (mail) => {
              // A slow server: the message is accepted (250) only after delayMs.
              if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
              received.push({ mail, rcptTo })
              if (!hang) callback()
            })
            .catch(callback)
        },
      })
      const s = server
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(sink.port, '127.0.0.1', () => resolve())
      })
      sink.port = (s.server.address() as { port: number }).port
      return sink
    },
    async close() {
      const s = server
      server = undefined
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
    },
    /** `smtp://127.0.0.1:<port>` */
    get url() {
      return `smtp://127.0.0.1:${sink.port}`
    },
    /** Waits until `count` messages arrived (or throws after `timeoutMs`). */
    async waitFor(count: number, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs
      while (received.length < count) {
        if (Date.now() > end) {
          throw new Error(`${received.length} of ${count} messages arrived in ${timeoutMs} ms`)
        }
        await new Promise((r) => setTimeout(r, 20))
      }
      return received
    },
    /** Waits for the message at `index` (0: the first ever received) and returns it. */
    async nth(index: number, timeoutMs = 15_000): Promise<Received> {
      await sink.waitFor(index + 1, timeoutMs)
      const message = received[index]
      if (!message) throw new Error(`no message ${index}`)
      return message
    },
  }
  return sink
}

/** A port nothing listens on now (taken from the OS, then let go). */
export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

/**
 * Expects both parts of `mail` to hold each line of `order` (as GET /api/orders/:n answers it)
 * and its total in dollars: "2 x Name (SKU)" and "Total: $x.yz" in the text.
 */
export function expectLinesAndTotal(
  mail: ParsedMail,
  order: { items: { sku: string; name: string; quantity: number }[]; totalCents: number },
): void {
  const text = mail.text ?? ''
  const html = String(mail.html)
  for (const item of order.items) {
    expect(text).toContain(`${item.quantity} x ${item.name} (${item.sku})`)
    expect(html).toContain(`${item.name} (${item.sku})`)
  }
  const total = `$${(order.totalCents / 100).toFixed(2)}`
  expect(text).toContain(`Total: ${total}`)
  expect(html).toContain(total)
}
