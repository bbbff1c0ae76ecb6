import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agents } from '../../src/webhooks/agents.ts'
import { send } from '../../src/webhooks/deliver.ts'

// One attempt against a receiver that answers a status and then never finishes its body: the
// status is what the attempt records. A 500 whose body hung was recorded as "no answer within
// 10 s" with no status, though the receiver had answered.
const open = new Set<ServerResponse>()
const receiver = createServer((request, response) => {
  request.resume()
  const status = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('status'))
  response.writeHead(status, { 'content-type': 'text/plain' })
  response.write('still writing')
  open.add(response)
})
let base: string
const agents = new Agents(4)
beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
})
afterAll(async () => {
  agents.destroy()
  for (const response of open) response.destroy()
  receiver.closeAllConnections()
  await new Promise<void>((resolve) => receiver.close(() => resolve()))
})

describe('a receiver whose body never ends', () => {
  it('500: the attempt fails with the status it answered and what came of the body', async () => {
    const result = await send(new URL(`${base}/?status=500`), undefined, {}, '{}', {
      timeoutMs: 300,
      agents,
    })
    expect(result).toEqual({ ok: false, status: 500, error: 'answered 500: still writing' })
  })

  it('200: delivered as soon as the status line came', async () => {
    const result = await send(new URL(`${base}/?status=200`), undefined, {}, '{}', {
      timeoutMs: 300,
      agents,
    })
    expect(result).toEqual({ ok: true, status: 200 })
  })
})
