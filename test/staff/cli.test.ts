import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { connect } from '../../src/db/connect.ts'
import { runStaff } from '../../src/staff/cli.ts'
import { usage } from '../../src/staff/cli-args.ts'
import { ensureFirstAdmin } from '../../src/staff/first-admin.ts'
import { commandTestDatabase, testDatabase, usingPostgres } from '../helpers/context.ts'
import { freePort } from '../helpers/server.ts'
import { addStaff, password, postSignIn } from '../helpers/staff.ts'

/**
 * `npm run staff` against the test database (a PostgreSQL database of its own, or an embedded
 * one in a temporary folder, which the app opens only between runs of the command: one at a
 * time). Each command runs as `runStaff`, the function the script runs, in this process: a child
 * process per command cost a Node start and an embedded database opening each (~70 s for the
 * file on PGlite). The last describe runs the script itself as ops do, in child processes.
 */
let env: Record<string, string>
let drop: () => Promise<void>
let dataDir: string | undefined

beforeAll(async () => {
  ;({ env, drop } = await commandTestDatabase('staff-cli-'))
  dataDir = env.DATA_DIR
})
afterAll(async () => {
  await drop?.()
})

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the command as the script would, with `env` and `extra` as its whole environment and
 * `stdin` piped in (not a terminal); resolves with its exit code and output.
 */
async function staff(args: string[], extra: Record<string, string> = {}, stdin?: string) {
  let stdout = ''
  let stderr = ''
  const code = await runStaff(
    args,
    { ...env, ...extra },
    {
      stdin: Readable.from([stdin ?? '']),
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    },
  )
  return { code, stdout, stderr } satisfies Ran
}

/** `node src/staff/cli.ts …` in a child process; resolves with its exit code and output. */
function staffProcess(args: string[], extra: Record<string, string> = {}, stdin?: string) {
  const child = spawn(process.execPath, ['src/staff/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env, ...extra },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  child.stdin.end(stdin ?? '')
  return new Promise<Ran>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  )
}

/** Runs `fn` against the app on the same database, then closes it (the embedded one frees). */
async function withApp<T>(fn: (app: App) => Promise<T>): Promise<T> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env })
  const app = await buildApp({ config, salesFold: false })
  try {
    await app.ready()
    return await fn(app)
  } finally {
    await app.close()
  }
}

describe('npm run staff', () => {
  let token = ''

  it('add into a DATA_DIR without a database (a typo?): says it creates one, then adds', async () => {
    const folder = path.join(mkdtempSync(path.join(tmpdir(), 'staff-cli-new-')), 'data-typo')
    try {
      const added = await staff(['add', 'new@example.com', '--role', 'staff'], {
        DATABASE_URL: '',
        DATA_DIR: folder,
        STAFF_PASSWORD: password,
      })
      expect(added).toMatchObject({ code: 0, stdout: 'Added new@example.com as staff.\n' })
      expect(added.stderr).toBe(
        `No embedded database in DATA_DIR ${folder} yet: creating one, which the service uses only when started with this DATA_DIR (a typo? give the folder the service runs with) …\n`,
      )
    } finally {
      rmSync(path.dirname(folder), { recursive: true, force: true })
    }
  }, 120_000)

  it('add: with STAFF_PASSWORD, or one line on a piped standard input; the hash only is stored', async () => {
    const added = await staff(['add', 'Boss@Example.com', '--role', 'admin'], {
      STAFF_PASSWORD: password,
    })
    expect(added).toMatchObject({ code: 0, stdout: 'Added Boss@Example.com as admin.\n' })
    const piped = await staff(['add', 'clerk@example.com', '--role', 'staff'], {}, `${password}\n`)
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout + piped.stderr).not.toContain(password)

    const again = await staff(['add', 'boss@example.com', '--role', 'staff'], {
      STAFF_PASSWORD: password,
    })
    expect(again.code).toBe(1)
    // The account as stored, not as typed.
    expect(again.stderr).toBe('A staff account with the e-mail Boss@Example.com exists.\n')

    const db = connect({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR ?? '' })
    try {
      const rows = await db
        .selectFrom('staff')
        .select(['email', 'role', 'password_hash'])
        .orderBy('id')
        .execute()
      expect(rows.map((r) => [r.email, r.role])).toEqual([
        ['Boss@Example.com', 'admin'],
        ['clerk@example.com', 'staff'],
      ])
      for (const r of rows) expect(r.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    } finally {
      await db.destroy()
    }
  })

  it('add: refuses a short password, a missing or unknown role, bad usage', async () => {
    const short = await staff(['add', 'a@example.com', '--role', 'staff'], {
      STAFF_PASSWORD: 'short',
    })
    expect(short.code).toBe(1)
    expect(short.stderr).toContain('The password must be 15 to 1024 characters long.')
    // Characters, not UTF-16 units: 8 keys are 8.
    const keys = await staff(['add', 'a@example.com', '--role', 'staff'], {
      STAFF_PASSWORD: '🔑'.repeat(8),
    })
    expect(keys.code).toBe(1)
    expect(keys.stderr).toContain('The password must be 15 to 1024 characters long.')
    expect((await staff(['add', 'a@example.com'], { STAFF_PASSWORD: password })).code).toBe(2)
    expect(
      (await staff(['add', 'a@example.com', '--role', 'root'], { STAFF_PASSWORD: password })).code,
    ).toBe(2)
    expect((await staff(['remove', 'a@example.com'])).code).toBe(2)
    expect((await staff(['add', 'not-an-address', '--role', 'staff'])).code).toBe(2)
    // The text rule: a bidi override is not part of an address.
    expect((await staff(['add', 'a\u202e@example.com', '--role', 'staff'])).code).toBe(2)
  })

  it('token: prints a new token once on stdout; only its SHA-256 is stored; it opens the API', async () => {
    const res = await staff(['token', 'clerk@example.com'])
    expect(res.code, res.stderr).toBe(0)
    token = res.stdout.trim()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(res.stderr).toContain('shown once')
    expect((await staff(['token', 'nobody@example.com'])).code).toBe(1)

    await withApp(async (app) => {
      const stored = await app.db.selectFrom('staff_tokens').select('token_hash').execute()
      expect(stored.map((s) => s.token_hash)).not.toContain(token)
      const me = await app.inject({
        url: '/api/admin/me',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(me.statusCode).toBe(200)
      expect(me.json()).toMatchObject({ email: 'clerk@example.com', role: 'staff' })
      // The password given to add signs in.
      expect((await postSignIn(app, { email: 'clerk@example.com', password })).statusCode).toBe(303)
    })
  })

  it('disable: ends the sessions at once, the token stops working, sign-in is refused', async () => {
    const cookie = await withApp(async (app) => {
      const res = await postSignIn(app, { email: 'clerk@example.com', password })
      return [res.headers['set-cookie']]
        .flat()
        .map((c) => c?.split(';')[0])
        .join('; ')
    })
    // Found in any case, trimmed; the line names the account as it is stored.
    const res = await staff(['disable', '  CLERK@Example.COM '])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toBe(
      'Disabled clerk@example.com: their sessions have ended and their tokens are revoked.\n',
    )
    expect((await staff(['disable', 'nobody@example.com'])).code).toBe(1)
    expect((await staff(['token', 'clerk@example.com'])).stderr).toContain('is disabled')

    await withApp(async (app) => {
      expect(await app.db.selectFrom('staff_sessions').selectAll().execute()).toEqual([])
      expect((await app.inject({ url: '/admin', headers: { cookie } })).statusCode).toBe(303)
      const me = await app.inject({
        url: '/api/admin/me',
        headers: { authorization: `Bearer ${token}` },
      })
      expect(me.statusCode).toBe(401)
      expect((await postSignIn(app, { email: 'clerk@example.com', password })).statusCode).toBe(400)
    })
  })

  it('password: a new one signs in, the old one no longer does, sessions end; enable lets the account back in', async () => {
    const newPassword = 'a brand new passphrase for the clerk'
    // Disabled by the test before: the password is set, and the account stays disabled.
    let res = await staff(['password', 'Clerk@Example.com'], { STAFF_PASSWORD: newPassword })
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toBe(
      'New password set for clerk@example.com: their sessions have ended. The account is still disabled: `enable` it to sign in.\n',
    )
    await withApp(async (app) => {
      const signIn = await postSignIn(app, { email: 'clerk@example.com', password: newPassword })
      expect(signIn.statusCode).toBe(400)
    })

    res = await staff(['enable', 'clerk@example.com'])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toBe(
      'Enabled clerk@example.com: they can sign in again; tokens revoked before stay revoked.\n',
    )
    const cookie = await withApp(async (app) => {
      expect((await postSignIn(app, { email: 'clerk@example.com', password })).statusCode).toBe(400)
      const signIn = await postSignIn(app, { email: 'clerk@example.com', password: newPassword })
      expect(signIn.statusCode).toBe(303)
      return [signIn.headers['set-cookie']]
        .flat()
        .map((c) => c?.split(';')[0])
        .join('; ')
    })

    // A second reset ends the session the first one's password opened.
    res = await staff(['password', 'clerk@example.com'], {}, 'yet another passphrase, piped in\n')
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toBe('New password set for clerk@example.com: their sessions have ended.\n')
    await withApp(async (app) => {
      expect((await app.inject({ url: '/admin', headers: { cookie } })).statusCode).toBe(303)
    })
    expect(
      (await staff(['password', 'nobody@example.com'], { STAFF_PASSWORD: newPassword })).code,
    ).toBe(1)
    expect((await staff(['enable', 'nobody@example.com'])).stderr).toBe(
      'No staff account has the e-mail nobody@example.com.\n',
    )
    expect((await staff(['password', 'clerk@example.com'], { STAFF_PASSWORD: 'short' })).code).toBe(
      1,
    )
  })
})

describe('npm run staff -- tokens | revoke', () => {
  it('tokens: lists id, created, last used, revoked; never a token or its hash', async () => {
    const add = await staff(['add', 'ops@example.com', '--role', 'staff'], {
      STAFF_PASSWORD: password,
    })
    expect(add.code, add.stderr).toBe(0)
    const none = await staff(['tokens', 'ops@example.com'])
    expect(none).toMatchObject({ code: 0, stdout: '' })
    expect(none.stderr).toContain('ops@example.com has no API tokens.')
    const first = (await staff(['token', 'ops@example.com'])).stdout.trim()
    const second = (await staff(['token', 'ops@example.com'])).stdout.trim()
    await withApp(async (app) => {
      const me = await app.inject({
        url: '/api/admin/me',
        headers: { authorization: `Bearer ${first}` },
      })
      expect(me.statusCode).toBe(200)
    })

    const res = await staff(['tokens', 'OPS@example.com'])
    expect(res.code, res.stderr).toBe(0)
    const [header, ...rows] = res.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^id +created +last used +revoked$/)
    expect(rows).toHaveLength(2)
    // Newest first: the second token, never used; then the first, used once.
    expect(rows[0]).toMatch(/^\d+ +\d{4}-\d\d-\d\dT[\d:.]+Z +never +no$/)
    expect(rows[1]).toMatch(/^\d+ +\d{4}-\d\d-\d\dT[\d:.]+Z +\d{4}-\d\d-\d\dT[\d:.]+Z +no$/)
    for (const secret of [first, second]) expect(res.stdout + res.stderr).not.toContain(secret)
    expect(res.stdout).not.toMatch(/[0-9a-f]{64}/)
    expect((await staff(['tokens', 'nobody@example.com'])).code).toBe(1)
  })

  it('revoke: the token is refused on its next request, the other one still works', async () => {
    const before = await staff(['tokens', 'ops@example.com'])
    const ids = before.stdout
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => Number(line.split(' ')[0]))
    const [newest, oldest] = ids as [number, number]
    const tokenValue = (await staff(['token', 'ops@example.com'])).stdout.trim()
    const listed = await staff(['tokens', 'ops@example.com'])
    const tokenId = Number(listed.stdout.split('\n')[1]?.split(' ')[0])
    expect(ids).not.toContain(tokenId)

    const res = await staff(['revoke', String(tokenId)])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toMatch(
      new RegExp(`^Revoked token ${tokenId} \\(at .+Z\\): it no longer works\\.\\n$`),
    )
    const after = await staff(['tokens', 'ops@example.com'])
    expect(after.stdout.split('\n')[1]).toMatch(new RegExp(`^${tokenId} .*Z$`))
    expect(after.stdout.split('\n')[2]).toMatch(/ no$/)
    expect(newest).toBeGreaterThan(oldest)

    const other = (await staff(['token', 'ops@example.com'])).stdout.trim()
    await withApp(async (app) => {
      const me = (token: string) =>
        app.inject({ url: '/api/admin/me', headers: { authorization: `Bearer ${token}` } })
      expect((await me(tokenValue)).statusCode).toBe(401)
      expect((await me(other)).statusCode).toBe(200)
    })

    expect((await staff(['revoke', '999999'])).code).toBe(1)
    // Ids past the column's range are well formed and not found, as on the API's id routes.
    for (const id of ['2147483648', '99999999999999999999']) {
      const past = await staff(['revoke', id])
      expect(past.code, past.stderr).toBe(1)
      expect(past.stderr).toContain(`No API token has the id ${id}.`)
    }
    expect((await staff(['revoke', 'abc'])).code).toBe(2)
    expect((await staff(['revoke'])).code).toBe(2)
  })

  it('disable: refused for the last enabled admin', async () => {
    const res = await staff(['disable', 'boss@example.com'])
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(
      'Boss@Example.com is the last enabled admin: make another admin first.',
    )
  })

  it('refuses --role given twice instead of taking the last', async () => {
    const res = await staff(['add', 'twice@example.com', '--role', 'admin', '--role', 'staff'])
    expect(res.code).toBe(2)
    expect(res.stderr).toContain('--role given 2 times')
    expect((await staff(['tokens', 'twice@example.com'])).code).toBe(1)
  })

  it('prints the usage with the new commands', async () => {
    const res = await staff([])
    expect(res.code).toBe(2)
    // It was the usage alone, on one line with its breaks named (`\u{A}`): the reason, then its lines.
    const lines = res.stderr.split('\n')
    expect(lines[0]).toBe(
      'No command given: use add, disable, enable, password, token, tokens or revoke',
    )
    expect(lines[1]).toBe('Usage: npm run staff -- add <email> --role staff|admin')
    expect(res.stderr).toBe(`${lines[0]}\n${usage}\n`)
    expect(res.stderr).toContain('npm run staff -- tokens <email>')
    expect(res.stderr).toContain('npm run staff -- revoke <token-id>')
    expect(res.stderr).toContain('npm run staff -- enable <email>')
    expect(res.stderr).toContain('npm run staff -- password <email>')
  })
  it('add: refuses a lookalike e-mail and a password with a control; an older account is managed', async () => {
    const cyrillic = '\u0430dmin@example.com' // аdmin, drawn as admin@example.com
    const lookalike = await staff(['add', cyrillic, '--role', 'admin'], {
      STAFF_PASSWORD: password,
    })
    expect(lookalike.code).toBe(2)
    expect(lookalike.stderr).toMatch(
      /^Enter an e-mail address with only ASCII characters before the @: а \(U\+0430\) is not\. Typed: /,
    )
    const control = await staff(['add', 'ctl@example.com', '--role', 'staff'], {
      STAFF_PASSWORD: 'correct horse\u0001battery staple',
    })
    expect(control.code).toBe(1)
    expect(control.stderr).toMatch(/^The password must not contain control characters/)
    expect((await staff(['tokens', 'ctl@example.com'])).code).toBe(1)
    // An account added before the rule: every other command still names it by its e-mail.
    await withApp((app) => addStaff(app, cyrillic))
    expect((await staff(['disable', cyrillic])).code).toBe(0)
    expect((await staff(['enable', cyrillic])).code).toBe(0)
    const reset = await staff(['password', cyrillic], { STAFF_PASSWORD: `${password} again` })
    expect(reset.code, reset.stderr).toBe(0)
    expect((await staff(['tokens', cyrillic])).code).toBe(0)
  })
})

describe('node src/staff/cli.ts in a child process, as npm run staff runs it', () => {
  it('reads a password piped on standard input, answers on stdout and stderr, exits 0, 1 or 2', async () => {
    const added = await staffProcess(
      ['add', 'piped@example.com', '--role', 'staff'],
      {},
      `${password}\n`,
    )
    expect(added).toMatchObject({ code: 0, stdout: 'Added piped@example.com as staff.\n' })
    expect(added.stdout + added.stderr).not.toContain(password)
    const listed = await staff(['tokens', 'piped@example.com'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stderr).toContain('piped@example.com has no API tokens.')

    const refused = await staffProcess(['token', 'nobody@example.com'])
    expect(refused).toMatchObject({ code: 1, stdout: '' })
    expect(refused.stderr).toContain('No staff account has the e-mail nobody@example.com.')

    const usage = await staffProcess([])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('npm run staff -- revoke <token-id>')
  })
})

describe('the first admin from ADMIN_EMAIL and ADMIN_PASSWORD', () => {
  it('is created at start when no admin exists, and only then', async () => {
    const db = await testDatabase()
    const start = async (email: string) => {
      const config = loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        ADMIN_EMAIL: email,
        ADMIN_PASSWORD: password,
        ...db.env,
        ...(usingPostgres ? {} : { DATA_DIR: dataDir ? `${dataDir}-first` : 'memory://' }),
      })
      return buildApp({ config, salesFold: false })
    }
    try {
      let app = await start('root@example.com')
      await app.ready()
      const admins = () =>
        app.db.selectFrom('staff').select('email').where('role', '=', 'admin').execute()
      expect(await admins()).toEqual([{ email: 'root@example.com' }])
      expect(
        (
          await postSignIn(app, {
            email: 'root@example.com',
            password,
          })
        ).statusCode,
      ).toBe(303)
      await app.close()
      // A later start with another ADMIN_EMAIL adds nobody: an admin exists.
      app = await start('other@example.com')
      await app.ready()
      expect(await admins()).toEqual([{ email: 'root@example.com' }])
      await app.close()
    } finally {
      await db.drop()
      if (dataDir) rmSync(`${dataDir}-first`, { recursive: true, force: true })
    }
  })

  it('is refused, and the start stops, when ADMIN_PASSWORD is built on ADMIN_EMAIL', async () => {
    const db = await testDatabase()
    const app = await buildApp({
      config: loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        ...db.env,
        ...(usingPostgres ? {} : { DATA_DIR: 'memory://' }),
      }),
      salesFold: false,
    })
    try {
      // What the staff plugin runs at start with ADMIN_EMAIL and ADMIN_PASSWORD: its ConfigError
      // is the start's one line (server.ts, "Could not start: Invalid configuration: …").
      await expect(
        ensureFirstAdmin(app.db, 'root@example.com', 'root@example.com2026', []),
      ).rejects.toThrow(
        'Invalid configuration: ADMIN_PASSWORD is too easy to guess: it is built on the account’s e-mail address',
      )
      expect(await app.db.selectFrom('staff').select('email').execute()).toEqual([])
    } finally {
      await app.close()
      await db.drop()
    }
  })

  it('ADMIN_EMAIL without ADMIN_PASSWORD (or a short one) stops the start', () => {
    expect(() => loadConfig({ ADMIN_EMAIL: 'root@example.com' })).toThrow(
      /ADMIN_EMAIL and ADMIN_PASSWORD go together/,
    )
    for (const short of ['short', '🔑'.repeat(8)]) {
      expect(() => loadConfig({ ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: short })).toThrow(
        /ADMIN_PASSWORD/,
      )
    }
    expect(() => loadConfig({ ADMIN_EMAIL: 'root', ADMIN_PASSWORD: password })).toThrow(
      /ADMIN_EMAIL/,
    )
  })
})

describe('a command line the staff command cannot read', () => {
  it('--help and -h print the usage on stdout and exit 0, before reading any setting', async () => {
    for (const args of [['--help'], ['-h'], ['revoke', '-h'], ['add', 'a@example.com', '--help']]) {
      // Settings that could open no database: --help never tries.
      const res = await staff(args, {
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        PORT: 'x',
      })
      expect(res, args.join(' ')).toMatchObject({ code: 0, stderr: '' })
      expect(res.stdout).toMatch(/^Usage: npm run staff -- add <email> --role staff\|admin\n/)
      expect(res.stdout).toContain('Exit codes: 0 done, 1 refused or failed, 2 bad usage.')
    }
  })

  it('an unknown option is refused in a line of ours, not parseArgs advice that fails under npm', async () => {
    for (const [args, reason] of [
      [
        ['revoke', '-1'],
        "Unknown option '-1': the options are --role (with add) and --help (a token id is a whole number, as `tokens` lists it)",
      ],
      [
        ['token', '-x', 'a@example.com'],
        "Unknown option '-x': the options are --role (with add) and --help",
      ],
      [['add', 'a@example.com', '--role'], '--role needs a value: staff or admin'],
      // Not "must be staff or admin", as if one had been given (a newcomer's review).
      [['add', 'a@example.com'], '--role is required: staff or admin'],
      [['--help=yes'], '--help takes no value'],
    ] as const) {
      const res = await staff([...args])
      expect(res.code, args.join(' ')).toBe(2)
      const [first, second] = res.stderr.split('\n')
      expect(first).toBe(reason)
      expect(second).toMatch(/^Usage: npm run staff -- add <email>/)
      expect(res.stderr).not.toContain('positional argument')
    }
  })

  it('exits 2 with the reason and the usage line, never a stack or an error code', async () => {
    for (const args of [
      ['revoke', '-1'],
      ['token', '-x', 'a@example.com'],
      ['add', 'a@example.com', '--role'],
      ['add', 'a@example.com', '--colour', 'red'],
      ['add', 'not-an-address', '--role', 'staff'],
    ]) {
      const res = await staff(args)
      expect(res.code, args.join(' ')).toBe(2)
      expect(res.stderr, args.join(' ')).toContain('Usage: npm run staff -- add <email>')
      expect(res.stderr, args.join(' ')).not.toMatch(/TypeError|ERR_PARSE_ARGS|Failed/)
    }
  })

  it.each([
    [
      ['bogus'],
      "Unknown command 'bogus': use add, disable, enable, password, token, tokens or revoke",
    ],
    [['bogus', 'a@example.com'], "Unknown command 'bogus'"],
    [['add'], 'add needs <email>'],
    [['disable'], 'disable needs <email>'],
    [['token'], 'token needs <email>'],
    [['tokens'], 'tokens needs <email>'],
    [['revoke'], 'revoke needs <token-id>'],
    [['token', 'a@example.com', 'b@example.com'], "Too many arguments: 'b@example.com'"],
    [
      ['add', 'pat@@example.com', '--role', 'staff'],
      'Enter an e-mail address with one @, like name@example.com. Typed: pat@@example.com',
    ],
    // What was typed comes back with its hidden characters named, not acting on the terminal.
    [['disable', 'a\u202e@example.com'], 'Typed: a\\u{202E}@example.com'],
    [['disable', 'a\n@example.com'], 'Typed: a\\u{A}@example.com'],
  ])('%j: exit 2, the reason on the first line, then the usage', async (args, reason) => {
    const res = await staff(args)
    expect(res.code).toBe(2)
    const lines = res.stderr.split('\n')
    expect(lines[0]).toContain(reason)
    expect(lines[1]).toMatch(/^Usage: npm run staff -- add <email>/)
  })
})

describe('what stops the command, in a plain sentence', () => {
  it('no password given: says so and how to give one', async () => {
    const res = await staff(['add', 'nopassword@example.com', '--role', 'staff'], {}, '')
    expect(res.code).toBe(1)
    expect(res.stderr).toBe(
      'No password was given: set STAFF_PASSWORD, run the command in a terminal to type it, or pipe it in as one line.\n',
    )
    expect((await staff(['tokens', 'nopassword@example.com'])).code).toBe(1)
  })

  it('STAFF_PASSWORD= (empty, as a .env loaded into the shell leaves it) is unset', async () => {
    const res = await staff(
      ['add', 'empty-setting@example.com', '--role', 'staff'],
      { STAFF_PASSWORD: '' },
      `${password}\n`,
    )
    expect(res, res.stderr).toMatchObject({
      code: 0,
      stdout: 'Added empty-setting@example.com as staff.\n',
    })
  })

  it('an embedded folder in use: the process, and what to do, without a class name', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'staff-cli-lock-'))
    try {
      // A running process other than this one holds the folder, as a running service would.
      writeFileSync(path.join(folder, '.lock'), String(process.ppid))
      let stderr = ''
      const code = await runStaff(
        ['tokens', 'a@example.com'],
        { DATA_DIR: folder },
        {
          stdin: Readable.from(['']),
          stdout: { write: () => {} },
          stderr: { write: (text: string) => (stderr += text) },
        },
      )
      const res = { code, stderr }
      expect(res.code).toBe(1)
      expect(res.stderr).toMatch(
        new RegExp(
          `^Failed: The embedded database in ${folder} is in use by process ${process.ppid}: stop it first`,
        ),
      )
      expect(res.stderr).toContain('A lock whose process has ended is taken over by itself')
      expect(res.stderr).not.toContain('EmbeddedDatabaseInUse')
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  it.runIf(usingPostgres)(
    'a database that does not exist: the createdb line that makes it',
    async () => {
      const url = new URL(env.DATABASE_URL as string)
      url.pathname = '/cr_not_created'
      const res = await staff(['tokens', 'a@example.com'], { DATABASE_URL: url.toString() })
      expect(res.code).toBe(1)
      const options = `-h ${url.hostname}${url.port ? ` -p ${url.port}` : ''} -U ${url.username}`
      expect(res.stderr).toBe(
        `Failed: The database cr_not_created does not exist on the PostgreSQL server: create it first (createdb ${options} cr_not_created), then run this again.\n`,
      )
    },
  )

  it('a DATABASE_URL that cannot be read: one line naming it, without the password', async () => {
    const res = await staff(['tokens', 'a@example.com'], {
      DATABASE_URL: 'postgres://admin:p/ss@127.0.0.1:4400/orders',
    })
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/^Invalid configuration: DATABASE_URL .*%2F.*\n$/)
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).not.toContain('p/ss')
  })

  it('a server that takes the connection and never answers: a sentence, within the connect timeout', async () => {
    const sockets: net.Socket[] = []
    const silent = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as net.AddressInfo
    try {
      const started = performance.now()
      const res = await Promise.race([
        staff(['tokens', 'a@example.com'], {
          DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/orders`,
          DATABASE_CONNECT_TIMEOUT_MS: '500',
        }),
        new Promise<Ran>((resolve) =>
          setTimeout(() => resolve({ code: null, stdout: '', stderr: 'still waiting' }), 15_000),
        ),
      ])
      expect(res).toEqual({
        code: 1,
        stdout: '',
        stderr: `Failed: The PostgreSQL server at 127.0.0.1:${port} did not answer within 500 ms (DATABASE_CONNECT_TIMEOUT_MS): check that it is up and reachable, or correct DATABASE_URL.\n`,
      })
      expect(performance.now() - started).toBeLessThan(10_000)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  it.runIf(usingPostgres)(
    "a refused connection names the URL that failed: DATABASE_URL's, MIGRATION_DATABASE_URL's being fine",
    async () => {
      const port = await freePort()
      const refused = new URL(env.DATABASE_URL as string)
      refused.host = `127.0.0.1:${port}`
      const res = await staff(['tokens', 'a@example.com'], {
        DATABASE_URL: refused.toString(),
        MIGRATION_DATABASE_URL: env.DATABASE_URL as string,
      })
      expect(res.code).toBe(1)
      expect(res.stderr).toBe(
        `Failed: No PostgreSQL server answers at 127.0.0.1:${port}: start it, or correct DATABASE_URL.\n`,
      )
    },
  )
})
