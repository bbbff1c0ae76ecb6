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
 * The IPv4 addresses an IPv6 address carries for a translator or tunnel to reach: IPv4-
 * compatible `::a.b.c.d` (RFC 4291 §2.5.5.1), NAT64 `64:ff9b::/96` (RFC 6052) and its local-use
 * `64:ff9b:1::/48` (RFC 8215, in its last 32 bits), 6to4 `2002:AABB:CCDD::/48` (RFC 3056) and
 * Teredo's client, its last 32 bits inverted (RFC 4380). Where a gateway for them exists, such
 * an address reaches the IPv4 one: `[::169.254.169.254]` the metadata service.
 */
function embeddedIpv4(ip: ipaddr.IPv6): string[] {
  const b = ip.toByteArray()
  const v4 = (at: number, flip = 0) =>
    [0, 1, 2, 3].map((i) => ((b[at + i] as number) ^ flip).toString()).join('.')
  const found: string[] = []
  if (b.slice(0, 12).every((x) => x === 0)) found.push(v4(12))
  if (ip.match(nat64) || ip.match(nat64Local)) found.push(v4(12))
  if (ip.match(sixToFour)) found.push(v4(2))
  if (ip.match(teredo)) found.push(v4(12, 0xff))
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
