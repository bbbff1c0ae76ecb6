import { simpleParser } from 'mailparser'
import nodemailer from 'nodemailer'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { mailSettings } from '../../src/mail/settings.ts'
import { smtpSink } from './smtp-sink.ts'

const base = { PUBLIC_BASE_URL: 'https://shop.example.com' }

describe('mail settings', () => {
  it('are off without SMTP_URL', () => {
    expect(mailSettings(loadConfig({}))).toBeNull()
  })

  // The ARM template sets all three on every app and cannot leave one out: its smtpUrl and
  // mailFrom default to '' (docs/deployment.md, "Order e-mails on Azure").
  it('read an empty SMTP_URL, MAIL_FROM or PUBLIC_BASE_URL as unset', () => {
    const empty = { SMTP_URL: '', MAIL_FROM: '', PUBLIC_BASE_URL: '' }
    const config = loadConfig(empty)
    expect(config).not.toHaveProperty('SMTP_URL')
    expect(mailSettings(config)).toBeNull()
    expect(
      mailSettings(loadConfig({ ...empty, PUBLIC_BASE_URL: 'https://shop.example.com' })),
    ).toBeNull()
    expect(
      mailSettings(loadConfig({ ...empty, SMTP_URL: 'smtps://u:p@mail.example.com', ...base })),
    ).toMatchObject({ from: 'Trailhead Goods <orders@shop.example.com>' })
    expect(() => loadConfig({ ...empty, SMTP_URL: 'smtps://u:p@mail.example.com' })).toThrow(
      'Invalid configuration: SMTP_URL needs PUBLIC_BASE_URL',
    )
  })

  it('read an empty one in the process environment as unset too, under the given ones', () => {
    const saved = process.env.MAIL_FROM
    process.env.MAIL_FROM = ''
    try {
      const settings = mailSettings(
        loadConfig({ SMTP_URL: 'smtps://u:p@mail.example.com', ...base }),
      )
      expect(settings?.from).toBe('Trailhead Goods <orders@shop.example.com>')
    } finally {
      if (saved === undefined) delete process.env.MAIL_FROM
      else process.env.MAIL_FROM = saved
    }
  })

  it('need PUBLIC_BASE_URL with SMTP_URL: the e-mails link to the order page', () => {
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.example.com' })).toThrow(
      'Invalid configuration: SMTP_URL needs PUBLIC_BASE_URL',
    )
  })

  it.each([
    ['SMTP_URL', 'http://mail.example.com'],
    ['SMTP_URL', 'smtp://'],
    ['SMTP_URL', 'mail.example.com:25'],
    ['PUBLIC_BASE_URL', 'shop.example.com'],
    ['PUBLIC_BASE_URL', 'https://shop.example.com/?a=1'],
    ['PUBLIC_BASE_URL', 'https://user:pw@shop.example.com'],
    ['MAIL_FROM', 'not an address'],
    ['MAIL_FROM', 'Shop <a@b.c>\r\nBcc: x@y.z'],
  ])('refuse %s=%j, naming it and never showing its value', (name, value) => {
    const env = { SMTP_URL: 'smtp://u:hunter2@mail.example.com', ...base, [name]: value }
    let message = ''
    try {
      loadConfig(env)
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toContain(name)
    expect(message).not.toContain('hunter2')
  })

  // Each refusal says its real reason, never the user or password.
  const smtpRefusal = (smtpUrl: string) => {
    try {
      loadConfig({ SMTP_URL: smtpUrl, ...base })
    } catch (err) {
      return (err as Error).message
    }
    return 'accepted'
  }
  it.each([
    ['mail.example.com:25', 'SMTP_URL is not a URL: give one like smtps://'],
    [
      'http://u:hunter2@mail.example.com',
      'SMTP_URL must start with smtp:// or smtps://, not http://',
    ],
    ['smtp://u:hunter2@', 'SMTP_URL names no host'],
    [
      'smtp://u:hunter2@mail.example.com:99999',
      'SMTP_URL has a port that is not a number from 1 to 65535',
    ],
    [
      'smtp://u:hunter2@mail.example.com:25x',
      'SMTP_URL has a port that is not a number from 1 to 65535',
    ],
    [
      'smtp://u:hunter2@mail.example.com:0',
      'SMTP_URL has a port that is not a number from 1 to 65535',
    ],
    ['smtp://u:hunt er2@mail.example.com', 'SMTP_URL has a space or a line break in it'],
    [
      'smtp://127.0.0.1:1025?requireTls=false',
      'SMTP_URL has the parameter "requireTls", which the service does not take: the only one is requireTLS=false',
    ],
    [
      'smtps://u:hunter2@mail.example.com?tls.rejectUnauthorized=false',
      'SMTP_URL has the parameter "tls.rejectUnauthorized"',
    ],
    ['smtp://mail.example.com?foo=bar', 'SMTP_URL has the parameter "foo"'],
    ['smtp://127.0.0.1?requireTLS=no', 'SMTP_URL takes requireTLS=true or requireTLS=false only'],
    ['smtp://127.0.0.1?requireTLS=false&requireTLS=true', 'SMTP_URL has requireTLS more than once'],
    [
      'smtp://u:hunter2@mail.example.com:587?requireTLS=false',
      'SMTP_URL has a user and requireTLS=false for mail.example.com, which would send the password in the clear',
    ],
  ])('refuse SMTP_URL %s with its reason', (smtpUrl, reason) => {
    const message = smtpRefusal(smtpUrl)
    expect(message).toContain(`Invalid configuration: ${reason}`)
    expect(message).not.toContain('hunter2')
    expect(message).not.toContain('hunt er2')
  })

  it.each([
    'smtp://mail.example.com',
    'smtps://u:p@mail.example.com:465',
    'smtp://u:p@mail.example.com:587?requireTLS=true',
    'smtp://127.0.0.1:1025?requireTLS=false',
    'smtp://u:p@127.0.0.1:1025?requireTLS=false',
    'smtp://u:p@localhost:1025?requireTLS=false',
    'smtp://u:p@[::1]:1025?requireTLS=false',
    'smtps://u:p@mail.example.com?requireTLS=false',
  ])(
    'accept SMTP_URL %s (credentials optional; requireTLS=false with a user on loopback)',
    (smtpUrl) => {
      expect(smtpRefusal(smtpUrl)).toBe('accepted')
    },
  )

  it('take a quoted display name, as the From header and the envelope read it', async () => {
    const from = '"Shop, Inc." <orders@example.com>'
    const settings = mailSettings(
      loadConfig({ SMTP_URL: 'smtp://mail.example.com', ...base, MAIL_FROM: from }),
    )
    expect(settings).toMatchObject({ from, messageIdDomain: 'example.com' })
    const built = await nodemailer
      .createTransport({ streamTransport: true, buffer: true })
      .sendMail({ from: settings?.from, to: 'ada@example.com', subject: 's', text: 't' })
    expect(built.envelope.from).toBe('orders@example.com')
    const mail = await simpleParser(built.message as Buffer)
    expect(mail.from?.value).toEqual([{ name: 'Shop, Inc.', address: 'orders@example.com' }])
  })

  it.each([
    [
      'Shop, Inc. <orders@example.com>',
      'a name with a comma, a semicolon or a double quote in double quotes',
    ],
    [
      '"Shop <orders@example.com>',
      'a name with a comma, a semicolon or a double quote in double quotes',
    ],
    [
      'orders@bücher.example',
      'MAIL_FROM has a domain that is not ASCII: write it as xn--bcher-kva.example',
    ],
    [
      'Bücher <orders@bücher.example>',
      'MAIL_FROM has a domain that is not ASCII: write it as xn--bcher-kva.example',
    ],
    ['bücher@example.com', 'MAIL_FROM has an address that is not ASCII before the @'],
  ])('refuse MAIL_FROM %s, saying what is allowed', (from, reason) => {
    expect(() =>
      loadConfig({ SMTP_URL: 'smtp://mail.example.com', ...base, MAIL_FROM: from }),
    ).toThrow(reason)
  })

  it('derive an address literal as the sender domain from a PUBLIC_BASE_URL on an IPv4 address', () => {
    // RFC 5321 §4.1.3: orders@127.0.0.1 is no address; orders@[127.0.0.1] is (a review).
    const settings = mailSettings(
      loadConfig({ SMTP_URL: 'smtp://127.0.0.1:1', PUBLIC_BASE_URL: 'http://127.0.0.1:3000' }),
    )
    expect(settings).toMatchObject({
      from: 'Trailhead Goods <orders@[127.0.0.1]>',
      messageIdDomain: '[127.0.0.1]',
    })
  })

  it('derive a sender an SMTP server takes from a PUBLIC_BASE_URL on an IPv6 address', async () => {
    const settings = mailSettings(
      loadConfig({ SMTP_URL: 'smtp://127.0.0.1:1', PUBLIC_BASE_URL: 'http://[::1]:3000' }),
    )
    expect(settings).toMatchObject({
      from: 'Trailhead Goods <orders@[IPv6:::1]>',
      messageIdDomain: '[IPv6:::1]',
    })
    const sink = await smtpSink().listen()
    try {
      await nodemailer
        .createTransport({ url: sink.url })
        .sendMail({ from: settings?.from, to: 'ada@example.com', subject: 's', text: 't' })
      // Accepted; mailparser writes the literal's tag in lower case, as address domains compare.
      expect(sink.received.map((r) => r.mail.from?.value[0]?.address)).toEqual([
        'orders@[ipv6:::1]',
      ])
    } finally {
      await sink.close()
    }
  })

  it('derive the sender, the link base and the Message-ID domain', () => {
    const settings = mailSettings(
      loadConfig({
        SMTP_URL: 'smtps://u:p@mail.example.com',
        PUBLIC_BASE_URL: 'https://shop.example.com/',
      }),
    )
    expect(settings).toMatchObject({
      from: 'Trailhead Goods <orders@shop.example.com>',
      baseUrl: 'https://shop.example.com',
      messageIdDomain: 'shop.example.com',
      server: 'mail.example.com:465',
    })
    const own = mailSettings(
      loadConfig({
        SMTP_URL: 'smtp://mail.example.com:2525',
        ...base,
        MAIL_FROM: 'Shop <hi@mail.shop.test>',
      }),
    )
    expect(own).toMatchObject({
      from: 'Shop <hi@mail.shop.test>',
      messageIdDomain: 'mail.shop.test',
      server: 'mail.example.com:2525',
    })
  })
})
