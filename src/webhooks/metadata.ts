import ipaddr from 'ipaddr.js'

// The cloud's own services a webhook must never reach, whatever WEBHOOKS_ALLOW_LOCAL says
// (url-policy.ts): they answer any process on the host with its credentials.

/** Host names of cloud instance metadata services (GCP, AWS, Azure, Oracle, Alibaba…). */
export const metadataNames = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.internal',
  'metadata.oraclecloud.internal',
])

/**
 * Addresses of cloud metadata and platform services (AWS/Azure/GCP/Oracle, AWS ECS, AWS IPv6,
 * Alibaba, and Azure's WireServer 168.63.129.16: a public address that every Azure VM and App
 * Service reaches as its platform's own, DNS and health probes included).
 */
const metadataAddresses = new Set([
  '169.254.169.254',
  '169.254.170.2',
  'fd00:ec2::254',
  '100.100.100.200',
  '168.63.129.16',
])

/**
 * The IPv4 addresses an IPv6 address may carry for a translator or tunnel to reach, by the
 * positions of their four bytes: IPv4-compatible `::a.b.c.d` (RFC 4291 §2.5.5.1), IPv4-
 * translated `::ffff:0:a.b.c.d` (RFC 6145), NAT64's `64:ff9b::/96` (RFC 6052) and the local-use
 * `64:ff9b:1::/48` (RFC 8215) in each of RFC 6052's layouts for its prefixes of 48 to 96 bits
 * (bits 64 to 71 skipped), 6to4 `2002:AABB:CCDD::/48` (RFC 3056), Teredo's client, inverted (RFC
 * 4380), and an ISATAP interface identifier `…:0:5efe:a.b.c.d` (RFC 5214). Where a gateway for
 * them exists, such an address reaches the IPv4 one: `[::169.254.169.254]` the metadata service.
 */
function embeddedIpv4(ip: ipaddr.IPv6): string[] {
  const b = ip.toByteArray()
  const v4 = (at: readonly number[], flip = 0) =>
    at.map((i) => ((b[i] as number) ^ flip).toString()).join('.')
  const last = [12, 13, 14, 15]
  const found: string[] = []
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0)
  if (zeros(0, 12)) found.push(v4(last))
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) found.push(v4(last))
  if (ip.match(nat64)) found.push(v4(last))
  if (ip.match(nat64Local))
    for (const at of [[6, 7, 9, 10], [7, 9, 10, 11], [9, 10, 11, 12], last]) found.push(v4(at))
  if (ip.match(sixToFour)) found.push(v4([2, 3, 4, 5]))
  if (ip.match(teredo)) found.push(v4(last, 0xff))
  if ((b[8] === 0 || b[8] === 2) && b[9] === 0 && b[10] === 0x5e && b[11] === 0xfe)
    found.push(v4(last))
  return found
}
const nat64 = ipaddr.parseCIDR('64:ff9b::/96')
const nat64Local = ipaddr.parseCIDR('64:ff9b:1::/48')
const sixToFour = ipaddr.parseCIDR('2002::/16')
const teredo = ipaddr.parseCIDR('2001::/32')

/**
 * Whether `ip` (IPv4-mapped IPv6 already unwrapped: ipaddr.process) is a metadata or platform
 * service's address, itself or inside an IPv6 form a gateway takes to it (embeddedIpv4).
 */
export function isMetadataAddress(ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (metadataAddresses.has(ip.toString())) return true
  return (
    ip.kind() === 'ipv6' && embeddedIpv4(ip as ipaddr.IPv6).some((v4) => metadataAddresses.has(v4))
  )
}
