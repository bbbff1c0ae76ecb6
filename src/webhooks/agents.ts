/**
 * Where a delivery's connection goes: only to the addresses the URL policy checked (url-policy.ts),
 * over keep-alive connections kept per checked address list. The pinned lookup is the SSRF guard
 * at connect time (no second DNS answer can steer a send to a private address); the agents keep
 * connections to a receiver open between sends without ever reusing one for another address.
 * deliver.ts's send uses both.
 */
import http from 'node:http'
import https from 'node:https'
import { isIPv6, type LookupFunction } from 'node:net'

/** A checked address list, as the URL policy returns it. */
export type Addresses = readonly (string | { address: string; family?: number })[]

/**
 * Keep-alive agents, one per scheme and checked address list: a connection is reused only for a
 * request whose URL check answered the same addresses, so a kept connection never outlives a
 * change of what the name resolves to. `maxSockets` connections at most per agent (per host and
 * port). The least recently made agent is closed once there are more than `maxAgents`.
 */
export class Agents {
  readonly #agents = new Map<string, http.Agent>()
  readonly maxSockets: number
  readonly maxAgents: number
  constructor(maxSockets: number, maxAgents = 64) {
    this.maxSockets = maxSockets
    this.maxAgents = maxAgents
  }

  for(url: URL, addresses: Addresses | undefined): http.Agent {
    const key = `${url.protocol}${addressKey(addresses)}`
    let agent = this.#agents.get(key)
    if (agent) return agent
    // The pinned lookup on the agent: it applies to every connection the agent makes, and is
    // made once per address list, not once per request.
    const options = {
      keepAlive: true,
      maxSockets: this.maxSockets,
      ...(addresses && addresses.length > 0 ? { lookup: pinnedLookup(addresses) } : {}),
    }
    agent = url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options)
    if (this.#agents.size >= this.maxAgents) {
      const [oldest, old] = this.#agents.entries().next().value as [string, http.Agent]
      this.#agents.delete(oldest)
      old.destroy()
    }
    this.#agents.set(key, agent)
    return agent
  }

  destroy(): void {
    for (const agent of this.#agents.values()) agent.destroy()
    this.#agents.clear()
  }
}

const addressKey = (addresses: Addresses | undefined) =>
  (addresses ?? []).map((a) => (typeof a === 'string' ? a : a.address)).join(',')
/**
 * A lookup that answers with the addresses the URL policy checked, never asking DNS again: the
 * connection goes to an address that was checked, so a name that changes its answer between the
 * check and the connect (DNS rebinding) cannot steer it to a private one. Node calls it with
 * `all: true` when it tries several addresses (autoSelectFamily).
 */
export function pinnedLookup(addresses: Addresses): LookupFunction {
  const all = addresses.map((a) => {
    const address = typeof a === 'string' ? a : a.address
    return { address, family: isIPv6(address) ? 6 : 4 }
  })
  return (hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0
    const usable = all.filter((a) => wanted === 0 || a.family === wanted)
    const first = usable[0]
    if (!first) {
      const err = Object.assign(new Error(`no checked address for ${hostname}`), {
        code: 'ENOTFOUND',
      })
      callback(err, '', 4)
    } else if (options.all) callback(null, usable)
    else callback(null, first.address, first.family)
  }
}
