import { domainToASCII } from 'node:url'

/**
 * Why MAIL_FROM (already of the schema's shape: an address, or a name and one in angle
 * brackets) cannot be used, completing "MAIL_FROM …", or null: an address that is not ASCII.
 * The same address is the envelope's sender, the From header's and, its domain, the Message-ID's
 * right-hand side; a non-ASCII domain would need converting the same way in all three and a
 * server that takes SMTPUTF8, so it is refused with its punycode form to write instead (which
 * mail clients show in Unicode). A non-ASCII name is fine: nodemailer encodes it (RFC 2047).
 */
export function mailFromProblem(from: string): string | null {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from
  const at = address.lastIndexOf('@')
  const domain = address.slice(at + 1)
  if (/[^\x20-\x7e]/.test(domain)) {
    const ascii = domainToASCII(domain)
    const instead = ascii ? `write it as ${ascii}` : 'write it in its punycode form (xn--…)'
    return `has a domain that is not ASCII: ${instead}, the form mail servers take`
  }
  if (/[^\x20-\x7e]/.test(address.slice(0, at))) {
    return 'has an address that is not ASCII before the @: not every mail server takes one; use an ASCII address'
  }
  return null
}
