/**
 * Checks of settings that a schema pattern cannot make: TRUST_PROXY's addresses as Fastify reads
 * them, and whether LOG_FILE can be written. config.ts turns each problem into its ConfigError.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import ipaddr from 'ipaddr.js'

/**
 * TRUST_PROXY's list of front ends, each entry read as Fastify reads it (@fastify/proxy-addr,
 * over ipaddr.js): an address, or an address/prefix length (1 to 32, or 128 for IPv6), or an
 * IPv4 address/netmask. Stricter on one point: an IPv4 address is four decimal parts, not the
 * `999` or `0x7f.1` ipaddr.js also reads. Without this a bad entry passed the setting's pattern
 * and stopped the start with "TypeError: invalid IP address".
 * Returns what is wrong with the first bad entry, or undefined when the value is good.
 */
export function trustProxyProblem(value: string): string | undefined {
  if (value === 'true' || value === 'false' || /^\d+$/.test(value)) return undefined
  for (const entry of value.split(',').map((e) => e.trim())) {
    const problem = trustedAddressProblem(entry)
    if (problem) return problem
  }
  return undefined
}

/** Why one TRUST_PROXY entry is not an address or a range, or undefined when it is one. */
function trustedAddressProblem(entry: string): string | undefined {
  if (entry === '') return 'has an empty entry'
  const slash = entry.lastIndexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  const range = slash === -1 ? undefined : entry.slice(slash + 1)
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address)
  if (!v4 && !ipaddr.IPv6.isValid(address)) return `has "${address}", which is not an IP address`
  if (range === undefined) return undefined
  const max = v4 ? 32 : 128
  const bits = /^\d+$/.test(range)
    ? Number(range)
    : v4 && ipaddr.IPv4.isValidFourPartDecimal(range)
      ? ipaddr.IPv4.parse(range).prefixLengthFromSubnetMask()
      : null
  if (bits === null || bits < 1 || bits > max) {
    return `has "${entry}", whose range is not 1 to ${max} bits or a netmask`
  }
  return undefined
}

/**
 * LOG_FILE must be a file this process can append to: not a folder, in a folder that exists
 * and is writable or can be made (the log's transport makes missing folders) under one that
 * is. Checked here, because the transport's worker thread otherwise stops the start with an
 * unhandled 'error' event (EISDIR, ENOTDIR, EACCES) and its stack.
 * Returns why it cannot be (naming the path at fault), or undefined when it can.
 */
export function logFileProblem(path: string): string | undefined {
  const writable = (p: string) => {
    try {
      accessSync(p, constants.W_OK)
      return true
    } catch {
      return false
    }
  }
  const file = resolve(path)
  // The file itself, or the nearest folder above it that exists.
  let at = file
  let entry = statSync(at, { throwIfNoEntry: false })
  while (!entry && dirname(at) !== at) {
    at = dirname(at)
    try {
      entry = statSync(at, { throwIfNoEntry: false })
    } catch {
      entry = undefined // ENOTDIR: a file further up; found as the walk goes on
    }
  }
  if (at === file && entry?.isDirectory()) return `${path} is a folder: name a file in it`
  if (at === file) return writable(file) ? undefined : `${path} is not writable by this process`
  if (!entry?.isDirectory()) return `${path} cannot be made: ${at} is not a folder`
  if (!writable(at)) return `${path} cannot be made: ${at} is not writable by this process`
  return undefined
}
