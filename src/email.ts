/**
 * The one definition of an e-mail address's limits, for every place that reads one (the order's
 * customer, staff accounts by API, form and `npm run staff`, ADMIN_EMAIL): at most 254
 * characters in all (RFC 5321 §4.5.3.1.3's 256-octet path less its angle brackets) and at most
 * 64 before the @ (§4.5.3.1.1, the local part, in octets: the order's schema takes ASCII only
 * there, where a character is an octet; isEmailAddress counts UTF-8 octets).
 */
export const maxEmailLength = 254
export const maxLocalPart = 64

/** An @ with 1 to 64 non-space characters before it and some after (a JSON Schema pattern). */
export const emailPattern = `^[^@\\s]{1,${maxLocalPart}}@[^@\\s]+$`

/** The sentence for a local part over the limit, completing "The e-mail address …". */
export const localPartRule = `may have at most ${maxLocalPart} characters before the @`

/** What an e-mail field says when refused, completing "E-mail …" (a schema's errorMessage). */
export const emailRule = `must be an e-mail address like name@example.com, with at most ${maxLocalPart} characters before the @`

/** Whether `email`'s part before its last @ is at most 64 octets in UTF-8. */
export const localPartFits = (email: string): boolean =>
  Buffer.byteLength(email.slice(0, Math.max(0, email.lastIndexOf('@'))), 'utf8') <= maxLocalPart
