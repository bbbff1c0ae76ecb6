import { domainToASCII } from 'node:url'
import { AjvCompiler } from '@fastify/ajv-compiler'
import { Type } from 'typebox'
import { ajvOptions } from './ajv-options.ts'
import { characterCount, isPrintable } from './text.ts'

/**
 * The one definition of an e-mail address's limits, for every place that reads one (the order's
 * customer, staff accounts by API, form and `npm run staff`, ADMIN_EMAIL): at most 254
 * characters in all (RFC 5321 §4.5.3.1.3's 256-octet path less its angle brackets) and at most
 * 64 before the @ (§4.5.3.1.1, the local part, in octets: the order's schema takes ASCII only
 * there, where a character is an octet; isEmailShape counts UTF-8 octets).
 */
export const maxEmailLength = 254
export const maxLocalPart = 64
/**
 * The most characters between two dots of the domain (a label: RFC 1035 §2.3.4, RFC 5321
 * §4.5.3.1.2): no DNS name has a longer one, so no mail can be delivered to such an address.
 */
export const maxDomainLabel = 63

/**
 * An @ with 1 to 64 non-space characters before it and some after, whose last label (after the
 * last dot, or all of it) is not all digits: no top-level domain is (RFC 3696 §2, RFC 1123
 * §2.1), so `ada@example.123` is a mistake, never a mailbox; `ada@example.c` is well formed. Linear in the address's length: a label's leading digits are a run
 * of their own, so each try fails within one label (a lookahead for "not all digits" took 2.6 s
 * on a domain of 20,000 letters and a dot).
 */
const shapePattern = `^[^@\\s]{1,${maxLocalPart}}@(?:[^@\\s]*\\.)?[0-9]*[^@\\s.0-9][^@\\s.]*$`

/**
 * The pattern above for a new address (an order's, a new staff account's, ADMIN_EMAIL; a JSON
 * Schema pattern) that also refuses a label of the domain over 63 characters (maxDomainLabel):
 * `ada@<64 letters>.com` has the shape, but no mail reaches it. A lookahead after the @ walks the
 * labels once (each ends at its dot, so it cannot backtrack into another): linear too. An existing
 * staff account is still found by the shape alone (isEmailShape).
 */
export const emailPattern = `^[^@\\s]{1,${maxLocalPart}}@(?!(?:[^@\\s.]*\\.)*[^@\\s.]{${maxDomainLabel + 1}})(?:[^@\\s]*\\.)?[0-9]*[^@\\s.0-9][^@\\s.]*$`

/** The sentence for a local part over the limit, completing "The e-mail address …". */
export const localPartRule = `may have at most ${maxLocalPart} characters before the @`

/** What an e-mail field says when refused, completing "E-mail …" (a schema's errorMessage). */
export const emailRule = `must be an e-mail address like name@example.com, with at most ${maxLocalPart} characters before the @`

/** Whether `email`'s part before its last @ is at most 64 octets in UTF-8. */
export const localPartFits = (email: string): boolean =>
  Buffer.byteLength(email.slice(0, Math.max(0, email.lastIndexOf('@'))), 'utf8') <= maxLocalPart

/** Why an address was refused: what emailFault finds, for the API's and the form's wordings. */
export type EmailFault =
  | { kind: 'too-long' | 'at-signs' | 'spaces' | 'local-too-long' | 'shape' }
  /** `char`: the first character before the @ that is not ASCII, named as Unicode writes it. */
  | { kind: 'local-not-ascii'; char: string }
  /** `char`: the first control character (U+0000–U+001F, U+007F–U+009F), as `U+0001`. */
  | { kind: 'control'; char: string }
  | { kind: 'domain-not-ascii'; domain: string; ascii: string }
  | { kind: 'numeric-tld'; tld: string }
  /** `length`: the characters of the first label of the domain over maxDomainLabel. */
  | { kind: 'label-too-long'; length: number }
  /** `char`: the first character before the @ the format takes only in quotes (`(`, `,`, `"`). */
  | { kind: 'local-character'; char: string }
  /** A dot first or last before the @, or two in a row (`.x@…`, `x..y@…`). */
  | { kind: 'local-dots' }
  /** A domain of one label (`x@y`): the format wants a dot in it. */
  | { kind: 'domain-no-dot' }
  /** A dot first or last in the domain, or two in a row (`x@.example.com`, `x@example..com`). */
  | { kind: 'domain-dots' }
  /** `label`: the first label with a character other than a letter, digit or inner hyphen. */
  | { kind: 'domain-label'; label: string }

const nonAscii = /[^\u0020-\u007e]/
/** What the email format takes before the @ (RFC 5322 §3.2.3 dot-atom), and in a domain label. */
const atext = "letters, digits, dots and ! # $ % & ' * + - / = ? ^ _ ` { | } ~"
const notAtext = /[^a-z0-9!#$%&'*+/=?^_`{|}~.-]/i
const hostLabel = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i

/**
 * The character of `typed` at UTF-16 index `index` (before `at`), as `а (U+0430)`: a Cyrillic а
 * looks like an ASCII a, so the message names which one it means.
 */
function unicodeName(typed: string, at: number, index: number): string {
  const point = typed.slice(0, at).codePointAt(index) ?? 0
  const hex = point.toString(16).toUpperCase().padStart(4, '0')
  // A mark or an invisible character shown alone would say nothing: the code point alone then.
  const shown = /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(point))
  return shown ? `${String.fromCodePoint(point)} (U+${hex})` : `U+${hex}`
}

/**
 * Whether `email` has the shape and limits of an address (emailPattern, 254 characters, 64
 * octets before the @) and nothing the text rule refuses (src/text.ts: controls, bidi overrides,
 * lone surrogates), in any script: what names an existing staff account (`npm run staff --
 * disable …`), so that one added before staff e-mails had to be ASCII can still be managed.
 */
export function isEmailShape(email: string): boolean {
  return (
    email.length <= maxEmailLength &&
    emailShape.test(email) &&
    localPartFits(email) &&
    isPrintable(email)
  )
}
const emailShape = new RegExp(shapePattern)

/**
 * The schema of a new e-mail address, the one rule for the order's customer.email
 * (src/orders/customer.ts), a new staff account's and ADMIN_EMAIL's: ajv-formats' `email`
 * format (its "full" mode, which @fastify/ajv-compiler adds: dot-separated atoms of letters,
 * digits and ``!#$%&'*+/=?^_`{|}~-`` before the @, so no quotes, brackets, commas or leading,
 * trailing or doubled dots; a domain of two or more labels of letters, digits and inner
 * hyphens), at most 254 characters, and emailPattern (64 before the @, labels of at most 63,
 * no numeric top-level domain). The format takes ASCII only, so no address can look like
 * another: `ａdmin@…` (fullwidth a) and `аdmin@…` (Cyrillic а) are drawn as `admin@…`.
 */
export const EmailAddress = Type.String({
  format: 'email',
  maxLength: maxEmailLength,
  pattern: emailPattern,
  errorMessage: emailRule,
})

// Compiled as Fastify compiles the order's schema (src/app.ts: the same compiler and options),
// so the two cannot disagree about an address.
const newEmail = AjvCompiler()({}, ajvOptions)({
  schema: EmailAddress,
  method: 'POST',
  url: '/api/orders',
  httpPart: 'body',
})

/**
 * Whether `email` may be a new address (a new staff account's by the API, the form or
 * `npm run staff -- add`, ADMIN_EMAIL): exactly what the order's schema takes as
 * customer.email (EmailAddress), the shoppers' rule. emailMessage and emailSentence say why not.
 */
export const isEmailAddress = (email: string): boolean => newEmail(email) === true

/**
 * What is wrong with `typed` (as validated: trimmed, the domain's ASCII letters lower-cased),
 * an address the order's schema refused, the first of: over 254 characters (code points, as the
 * schema counts), more than one @, whitespace, a control character, a non-ASCII local part, one over 64 octets, a
 * domain not in ASCII (an internationalised domain: the schema takes its ASCII form, `xn--…`,
 * RFC 5890, given here by `domainToASCII`), a domain whose last label is all digits
 * (`example.123`, `10.0.0.1`: emailPattern), what the format (EmailAddress) refuses: a
 * character before the @ that only quotes allow (`(x)@…`, `"q"@…`), a dot first, last or doubled
 * there, a domain without a dot (`x@y`), a dot first, last or doubled in it, a label with another
 * character or an edge hyphen (`x@-.com`); else not the shape name@example.com.
 */
export function emailFault(typed: string): EmailFault {
  // In characters, as the schemas' maxLength counts (an emoji is one, not two UTF-16 units).
  if (characterCount(typed) > maxEmailLength) return { kind: 'too-long' }
  const at = typed.indexOf('@')
  if (at !== typed.lastIndexOf('@')) return { kind: 'at-signs' }
  if (/\s/u.test(typed)) return { kind: 'spaces' }
  // Before "not ASCII": U+0001 and U+007F are ASCII, and the shopper should hear what they are.
  const control = /\p{Cc}/u.exec(typed)
  if (control) return { kind: 'control', char: unicodeName(typed, typed.length, control.index) }
  if (at > 0) {
    const domain = typed.slice(at + 1)
    const foreign = nonAscii.exec(typed.slice(0, at))
    if (foreign) return { kind: 'local-not-ascii', char: unicodeName(typed, at, foreign.index) }
    if (!localPartFits(typed)) return { kind: 'local-too-long' }
    const ascii = nonAscii.test(domain) ? domainToASCII(domain) : ''
    if (ascii !== '') return { kind: 'domain-not-ascii', domain, ascii }
    const label = domain.split('.').find((part) => part.length > maxDomainLabel)
    if (label !== undefined) return { kind: 'label-too-long', length: label.length }
    const tld = domain.slice(domain.lastIndexOf('.') + 1)
    if (/^[0-9]+$/.test(tld)) return { kind: 'numeric-tld', tld }
    const local = typed.slice(0, at)
    const odd = notAtext.exec(local)
    if (odd) return { kind: 'local-character', char: odd[0] }
    if (local.split('.').includes('')) return { kind: 'local-dots' }
    if (domain !== '') return domainFault(domain)
  }
  return { kind: 'shape' }
}

/** What the email format refuses in `domain` (ASCII, not empty), else the address's shape. */
function domainFault(domain: string): EmailFault {
  const labels = domain.split('.')
  if (labels.length === 1 && hostLabel.test(domain)) return { kind: 'domain-no-dot' }
  if (labels.includes('')) return { kind: 'domain-dots' }
  const label = labels.find((part) => !hostLabel.test(part))
  return label === undefined ? { kind: 'shape' } : { kind: 'domain-label', label }
}

/**
 * A form's message by its e-mail field for `typed` (trimmed; the order form's and the staff
 * account form's), saying what is wrong with it (emailFault):
 * nothing typed, too long, two @, a space, a control character, too much or not ASCII before the @, a domain not in
 * ASCII (its xn-- form suggested), one ending in a number, a character or dot the format
 * refuses before the @ or in the domain (named), or not an address at all.
 */
export function emailMessage(typed: string): string {
  if (typed === '') return 'Enter an e-mail address.'
  const fault = emailFault(typed)
  switch (fault.kind) {
    case 'too-long':
      return `Enter an e-mail address of at most ${maxEmailLength} characters.`
    case 'at-signs':
      return 'Enter an e-mail address with one @, like name@example.com.'
    case 'spaces':
      return 'Enter an e-mail address without spaces, like name@example.com.'
    case 'control':
      return `Enter an e-mail address without control characters: ${fault.char} is one.`
    case 'local-not-ascii':
      return `Enter an e-mail address with only ASCII characters before the @: ${fault.char} is not.`
    case 'local-too-long':
      return `Enter an e-mail address with at most ${maxLocalPart} characters before the @.`
    case 'domain-not-ascii':
      return `Enter the domain in its ASCII form: ${fault.ascii} for ${fault.domain}.`
    case 'label-too-long':
      return `Enter an e-mail address whose domain has at most ${maxDomainLabel} characters between dots: one part of it has ${fault.length}.`
    case 'numeric-tld':
      return `Enter an e-mail address whose domain ends in a name, like name@example.com: .${fault.tld} is a number, not a top-level domain.`
    case 'local-character':
      return `Enter an e-mail address with only ${atext} before the @: ${fault.char} is not one.`
    case 'local-dots':
      return 'Enter an e-mail address whose part before the @ neither starts nor ends with a dot, nor has two in a row.'
    case 'domain-no-dot':
      return 'Enter an e-mail address whose domain has a dot, like name@example.com.'
    case 'domain-dots':
      return 'Enter an e-mail address whose domain neither starts nor ends with a dot, nor has two in a row, like name@example.com.'
    case 'domain-label':
      return `Enter an e-mail address whose domain has only letters, digits and hyphens between its dots, a hyphen never first or last: ${fault.label} is not.`
    case 'shape':
      return 'Enter an e-mail address like name@example.com.'
  }
}

/** The API's sentence for `typed`, completing "customer.email …" (its schema's emailRule). */
export function emailSentence(typed: string): string {
  const fault = emailFault(typed)
  switch (fault.kind) {
    case 'too-long':
      return `must be at most ${maxEmailLength} characters long`
    case 'at-signs':
      return 'must have one @, like name@example.com'
    case 'spaces':
      return 'must not contain spaces, like name@example.com'
    case 'control':
      return `must not contain control characters: ${fault.char} is one`
    case 'local-not-ascii':
      return `must have only ASCII characters before the @: ${fault.char} is not`
    case 'local-too-long':
      return localPartRule
    case 'domain-not-ascii':
      return `must have its domain in ASCII: write ${fault.domain} as ${fault.ascii}`
    case 'label-too-long':
      return `must have at most ${maxDomainLabel} characters between the dots of its domain: one part of it has ${fault.length}`
    case 'numeric-tld':
      return `must have a domain that ends in a name, like name@example.com: .${fault.tld} is a number, not a top-level domain`
    case 'local-character':
      return `must have only ${atext} before the @: ${fault.char} is not one`
    case 'local-dots':
      return 'must not start or end with a dot before the @, nor have two dots in a row there'
    case 'domain-no-dot':
      return 'must have a dot in its domain, like name@example.com'
    case 'domain-dots':
      return 'must have a domain that neither starts nor ends with a dot, nor has two in a row, like name@example.com'
    case 'domain-label':
      return `must have only letters, digits and hyphens between the dots of its domain, a hyphen never first or last: ${fault.label} is not`
    case 'shape':
      return 'must be an e-mail address like name@example.com'
  }
}
