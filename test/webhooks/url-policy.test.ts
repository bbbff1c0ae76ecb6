import { describe, expect, it } from 'vitest'
import { checkWebhookUrl, checkWebhookUrlSyntax } from '../../src/webhooks/url-policy.ts'

/** A resolver answering every name with `addresses` (and recording what it was asked). */
function resolver(...addresses: string[]) {
  const asked: string[] = []
  const lookup = async (host: string) => {
    asked.push(host)
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return { lookup, asked }
}

const production = (lookup: ReturnType<typeof resolver>['lookup']) => ({
  allowLocal: false,
  lookup,
})

async function refusedFor(address: string) {
  const result = await checkWebhookUrl(
    'https://hooks.example.com/in',
    production(resolver(address).lookup),
  )
  expect(result.ok, `${address} must be refused`).toBe(false)
  return result.ok ? '' : result.reason
}

describe('checkWebhookUrl, production (allowLocal false)', () => {
  it('accepts an https URL whose every address is public, and returns them', async () => {
    const { lookup, asked } = resolver('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c')
    const result = await checkWebhookUrl('https://hooks.example.com/in?x=1', production(lookup))
    expect(asked).toEqual(['hooks.example.com'])
    expect(result).toMatchObject({
      ok: true,
      addresses: ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    })
    if (result.ok) expect(result.url.href).toBe('https://hooks.example.com/in?x=1')
  })

  it.each([
    ['not a url', 'absolute'],
    ['/relative/path', 'absolute'],
    ['ftp://hooks.example.com/', 'https'],
    ['http://hooks.example.com/', 'https'],
    ['https://user:pw@hooks.example.com/', 'user name or password'],
    ['https://user@hooks.example.com/', 'user name or password'],
    ['https://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['https://localhost/', 'local'],
    ['https://api.localhost./', 'local'],
  ])('refuses %s', async (url, words) => {
    const { lookup } = resolver('93.184.215.14')
    const result = await checkWebhookUrl(url, production(lookup))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toContain(words)
  })

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['169.254.169.254', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::a00:1', 'special-purpose'],
    ['2002:7f00:1::1', 'special-purpose'],
    ['::7f00:1', 'special-purpose'],
    ['2001:db8::1', 'reserved'],
  ])('refuses a host resolving to %s (%s)', async (address, words) => {
    const reason = await refusedFor(address)
    expect(reason).toContain(words)
    expect(reason).toContain(address)
  })

  it.each([
    ['100.63.255.255'],
    ['100.128.0.1'],
    ['172.15.255.255'],
    ['172.32.0.1'],
    ['169.253.1.1'],
    ['8.8.8.8'],
    ['2a00:1450:4001:80e::200e'],
  ])('accepts the public neighbour %s', async (address) => {
    const result = await checkWebhookUrl(
      'https://hooks.example.com/in',
      production(resolver(address).lookup),
    )
    expect(result.ok).toBe(true)
  })

  it('refuses when ANY resolved address is not public', async () => {
    const { lookup } = resolver('93.184.215.14', '10.0.0.7')
    const result = await checkWebhookUrl('https://hooks.example.com/', production(lookup))
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('10.0.0.7') })
  })

  it('refuses literal addresses in the URL, in any spelling the URL parser accepts', async () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://0x7f.1/',
      'https://2130706433/',
      'https://[::1]/',
      'https://[::ffff:7f00:1]/',
      'https://169.254.169.254/latest/meta-data/',
    ]) {
      const result = await checkWebhookUrl(url, production(resolver('93.184.215.14').lookup))
      expect(result.ok, url).toBe(false)
    }
  })

  it('refuses a host that does not resolve, or resolves to nothing', async () => {
    const failing = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })
    }
    const a = await checkWebhookUrl('https://nowhere.invalid/', {
      allowLocal: false,
      lookup: failing,
    })
    expect(a).toEqual({ ok: false, reason: expect.stringContaining('does not resolve') })
    const b = await checkWebhookUrl('https://empty.example/', production(resolver().lookup))
    expect(b).toEqual({ ok: false, reason: expect.stringContaining('does not resolve') })
  })
})

describe('checkWebhookUrl, a resolver that does not answer', () => {
  it('gives up after lookupTimeoutMs and refuses, saying so', async () => {
    const never = () => new Promise<{ address: string; family: number }[]>(() => {})
    const started = Date.now()
    const result = await checkWebhookUrl('https://slow.example/', {
      allowLocal: false,
      lookup: never,
      lookupTimeoutMs: 50,
    })
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('timed out') })
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('checkWebhookUrl, local development (allowLocal true)', () => {
  const local = (lookup: ReturnType<typeof resolver>['lookup']) => ({ allowLocal: true, lookup })

  it('accepts plain http and loopback/private addresses', async () => {
    const cases: [string, string][] = [
      ['http://127.0.0.1:8080/hook', '127.0.0.1'],
      ['http://localhost:9000/', '::1'],
      ['http://receiver.internal/', '10.0.0.5'],
      ['https://[::1]:8443/', '::1'],
    ]
    for (const [url, address] of cases) {
      const result = await checkWebhookUrl(url, local(resolver(address).lookup))
      expect(result.ok, url).toBe(true)
    }
  })

  it('still refuses other schemes, credentials and the cloud metadata service', async () => {
    for (const url of [
      'ftp://127.0.0.1/',
      'http://u:p@127.0.0.1/',
      'http://169.254.169.254/',
      'http://metadata.google.internal/',
    ]) {
      const result = await checkWebhookUrl(url, local(resolver('127.0.0.1').lookup))
      expect(result.ok, url).toBe(false)
    }
    const viaDns = await checkWebhookUrl(
      'http://sneaky.example/',
      local(resolver('169.254.169.254').lookup),
    )
    expect(viaDns.ok).toBe(false)
  })

  it('refuses the metadata service inside IPv6 forms a gateway would take it to', async () => {
    for (const address of [
      '::169.254.169.254', // IPv4-compatible
      '::a9fe:a9fe',
      '64:ff9b::a9fe:a9fe', // NAT64
      '64:ff9b:1::a9fe:a9fe', // NAT64, local use
      '2002:a9fe:a9fe::', // 6to4
      '2002:a83f:8110::1', // 6to4 of 168.63.129.16
      '2001:0:4136:e378:8000:63bf:5601:5601', // Teredo, client 169.254.169.254 inverted
      '::ffff:0:a9fe:a9fe', // IPv4-translated (SIIT)
      '64:ff9b:1:a9fe:a9:fe00::', // NAT64 local use, a /48 prefix's layout
      '64:ff9b:1:a9:fe:a9fe::', // a /56 prefix's
      '64:ff9b:1:0:a9:fea9:fe00:0', // a /64 prefix's
      'fe80::5efe:a9fe:a9fe', // ISATAP
      '2001:db8::200:5efe:a9fe:a9fe',
    ]) {
      const literal = await checkWebhookUrl(`http://[${address}]/x`, local(resolver().lookup))
      expect(literal, address).toEqual({ ok: false, reason: expect.stringContaining('metadata') })
      const viaDns = await checkWebhookUrl(
        'http://sneaky.example/',
        local(resolver(address).lookup),
      )
      expect(viaDns, address).toEqual({ ok: false, reason: expect.stringContaining('metadata') })
    }
    // Other addresses in those forms stay allowed for local development.
    for (const address of ['::1', '64:ff9b::7f00:1', '2002:7f00:1::']) {
      const result = await checkWebhookUrl(
        'http://receiver.example/',
        local(resolver(address).lookup),
      )
      expect(result.ok, address).toBe(true)
    }
  })
})

describe('checkWebhookUrlSyntax (registration, no DNS)', () => {
  it('checks scheme, credentials, names and literal addresses without resolving', () => {
    expect(checkWebhookUrlSyntax('https://hooks.example.com/', { allowLocal: false }).ok).toBe(true)
    expect(checkWebhookUrlSyntax('http://hooks.example.com/', { allowLocal: false }).ok).toBe(false)
    expect(checkWebhookUrlSyntax('https://10.0.0.1/', { allowLocal: false }).ok).toBe(false)
    expect(checkWebhookUrlSyntax('http://10.0.0.1/', { allowLocal: true }).ok).toBe(true)
  })
})

describe('one spelling per URL (RFC 3986 section 6.2.2)', () => {
  const spelled = (url: string, allowLocal = false) => {
    const verdict = checkWebhookUrlSyntax(url, { allowLocal })
    expect(verdict.ok, url).toBe(true)
    return verdict.ok ? verdict.url.href : ''
  }

  it('decodes percent-encoded unreserved characters and upper-cases the other escapes', () => {
    expect(spelled('https://93.184.215.14/%61%32/%7e%2D%2e%5F?x=%41%2f%3d')).toBe(
      'https://93.184.215.14/a2/~-._?x=A%2F%3D',
    )
    // A reserved character stays escaped: /a%2Fb is not /a/b.
    expect(spelled('https://93.184.215.14/a%2fb')).toBe('https://93.184.215.14/a%2Fb')
  })

  it('writes an IPv4-mapped IPv6 host as the IPv4 address it carries', () => {
    expect(spelled('https://[::ffff:93.184.215.14]/h')).toBe('https://93.184.215.14/h')
    expect(spelled('http://[::ffff:127.0.0.1]:8080/h', true)).toBe('http://127.0.0.1:8080/h')
    // Still judged as that address: refused in production.
    expect(checkWebhookUrlSyntax('https://[::ffff:127.0.0.1]/h', { allowLocal: false }).ok).toBe(
      false,
    )
  })

  it('drops a trailing dot from the host; localhost and 127.0.0.1 stay two names', () => {
    expect(spelled('http://localhost./h', true)).toBe('http://localhost/h')
    expect(spelled('https://hooks.example.com./h')).toBe('https://hooks.example.com/h')
    expect(spelled('http://127.0.0.1/h', true)).toBe('http://127.0.0.1/h')
  })
})

describe('a URL that is not the one typed, or that nothing can answer', () => {
  const refused = (url: string, allowLocal = false) => {
    const verdict = checkWebhookUrlSyntax(url, { allowLocal })
    expect(verdict.ok, JSON.stringify(url)).toBe(false)
    return verdict.ok ? '' : verdict.reason
  }

  it('refuses a port above 65535 saying so, not as a URL that is not absolute', () => {
    expect(refused('https://hooks.example.com:65536/x')).toBe(
      "The URL's port 65536 is not a port: give one from 1 to 65535, or none.",
    )
    expect(
      checkWebhookUrlSyntax('https://hooks.example.com:65535/x', { allowLocal: false }).ok,
    ).toBe(true)
  })

  it('refuses port 0, in any spelling the parser takes, naming it', () => {
    for (const url of ['https://93.184.215.14:0/h', 'https://hooks.example.com:000/h']) {
      expect(refused(url)).toContain('port 0')
    }
    expect(refused('http://127.0.0.1:0/h', true)).toContain('port 0')
    expect(checkWebhookUrlSyntax('https://93.184.215.14:1/h', { allowLocal: false }).ok).toBe(true)
  })

  it('refuses whitespace, controls and invisible characters the parser would drop or encode', () => {
    // The parser would store `/a<TAB>b` as `/ab`, `/a<LF>b` as `/ab`, `/a b` as `/a%20b`.
    expect(refused('https://93.184.215.14/a\tb')).toContain('a tab at character 24')
    expect(refused('https://93.184.215.14/a\nb')).toContain('U+000A')
    expect(refused('https://93.184.215.14/a\r\nb')).toContain('U+000D')
    expect(refused('https://93.184.215.14/a b')).toContain('a space')
    expect(refused('https://hooks.exam\u200bple.com/h')).toContain('U+200B')
    expect(refused('https://93.184.215.14/h?x=\u00a0')).toContain('U+00A0')
    expect(refused('\u0001https://93.184.215.14/h')).toContain('at character 1')
    expect(refused('https://93.184.215.14/\u202eh')).toContain('U+202E')
    expect(refused('http://127.0.0.1/a\tb', true)).toContain('tab')
  })

  it('refuses a scheme not followed by exactly two slashes, and backslashes, the parser would mend', () => {
    // Each is read as https://hooks.example.com/hook (or //hook): not what was typed.
    for (const url of [
      'https:hooks.example.com/hook',
      'https:/hooks.example.com/hook',
      'https:///hooks.example.com/hook',
      'HTTPS:hooks.example.com/hook',
      'https:\\\\hooks.example.com\\hook',
      'https:/\\hooks.example.com/hook',
      'https://hooks.example.com\\hook',
    ]) {
      expect(refused(url)).toBe(
        'The URL must be written as https://host/path: two forward slashes after https:, and forward slashes between its parts.',
      )
    }
    expect(refused('http:127.0.0.1:4000/hook', true)).toContain('http://host/path')
    // A backslash in the query or fragment is kept as typed: no reason to refuse it.
    for (const url of ['https://hooks.example.com/hook', 'HTTPS://Hooks.Example.com/h?x=\\y']) {
      expect(checkWebhookUrlSyntax(url, { allowLocal: false }).ok, url).toBe(true)
    }
  })

  it('refuses dot segments, an IPv4 address in another base, % escapes in the host and an empty user name', () => {
    // The parser would store each as another URL than the one typed, without a word.
    const dots = 'write the path without . or .. segments.'
    expect(refused('https://8.8.8.8/a/../b')).toBe(
      `The URL's path /a/../b has a . or .. segment, which the parser resolves (it would be sent to /b): ${dots}`,
    )
    expect(refused('https://8.8.8.8/q4/%2E%2E/x')).toContain('(it would be sent to /x)')
    expect(refused('https://8.8.8.8/q6/..')).toContain('(it would be sent to /)')
    for (const url of ['https://8.8.8.8/a/./b', 'https://8.8.8.8/.%2e/b', 'https://8.8.8.8/%2e']) {
      expect(refused(url)).toContain(dots)
    }
    for (const host of ['010.010.010.010', '0x08080808', '134744072', '8.8.8.8.', '8.8.2056']) {
      expect(refused(`https://${host}/q`)).toBe(
        `The URL's host ${host} is an IPv4 address written another way: write the IPv4 address in dotted decimal, as 8.8.8.8.`,
      )
    }
    expect(refused('https://%38.8.8.8/z7')).toBe(
      "The URL's host must be written without % escapes: write it as 8.8.8.8.",
    )
    expect(refused('https://ex%61mple.com/z7')).toContain('write it as example.com.')
    expect(refused('https://\uff45xample.com/h')).toBe(
      "The URL's host \uff45xample.com would be read as example.com: write it as example.com.",
    )
    for (const url of ['https://@8.8.8.8/q3', 'https://:@8.8.8.8/q3']) {
      expect(refused(url)).toBe(
        'The URL must not have an @ before its host: write the host right after the //, with no user name or password.',
      )
    }
    expect(refused('http://@127.0.0.1/h', true)).toContain('@')
    expect(refused('https://8.8.8.8/a\ud800')).toContain('/a%EF%BF%BD')
  })

  it('still accepts what the parser only respells without changing what is sent', () => {
    const accepted = (url: string) => {
      const verdict = checkWebhookUrlSyntax(url, { allowLocal: false })
      expect(verdict.ok, url).toBe(true)
      return verdict.ok ? verdict.url.href : ''
    }
    expect(accepted('HTTPS://Hooks.EXAMPLE.com:443')).toBe('https://hooks.example.com/')
    expect(accepted('https://B\u00dcCHER.example/x')).toBe('https://xn--bcher-kva.example/x')
    expect(accepted('https://[2A00:1450:4001:80E:0::200e]/')).toBe(
      'https://[2a00:1450:4001:80e::200e]/',
    )
    expect(accepted('https://8.8.8.8/a"b^c/\u00e9/..x/.a/a..b/...')).toBe(
      'https://8.8.8.8/a%22b%5Ec/%C3%A9/..x/.a/a..b/...',
    )
    expect(accepted('https://8.8.8.8?x=1')).toBe('https://8.8.8.8/?x=1')
    expect(accepted('https://8.8.8.8/a@b/%2e%2ex')).toBe('https://8.8.8.8/a@b/..x')
  })
})
