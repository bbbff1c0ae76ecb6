import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort } from './server.ts'

/**
 * The newest PostgreSQL server binaries on this machine (Debian/Ubuntu keep them in
 * /usr/lib/postgresql/<version>/bin; PG_BIN names another folder), or undefined: tests that
 * start a cluster of their own skip without them.
 */
export const pgBin: string | undefined = (() => {
  const candidates = process.env.PG_BIN
    ? [process.env.PG_BIN]
    : existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .filter((v) => /^\d+$/.test(v))
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
      : []
  return candidates.find((dir) => existsSync(path.join(dir, 'initdb')))
})()

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** True when a throwaway cluster can be started (server binaries and openssl present). */
export const canStartCluster = Boolean(pgBin) && hasOpenssl

// PostgreSQL refuses to run as root: as root (a container), the cluster runs as `postgres`.
const asRoot = process.getuid?.() === 0
const run = (file: string, args: string[]) =>
  execFileSync(asRoot ? 'runuser' : file, asRoot ? ['-u', 'postgres', '--', file, ...args] : args, {
    stdio: 'pipe',
    timeout: 60_000,
  })

export interface Certificates {
  /** The self-signed CA's certificate (PEM): what DATABASE_CA_FILE would name. */
  caFile: string
  certFile: string
  keyFile: string
}

/**
 * A self-signed CA and a server certificate it signed, for the names in `altNames`
 * (`DNS:localhost`, `IP:127.0.0.1`), made with openssl in `dir`.
 */
export function makeCertificates(dir: string, altNames: string[]): Certificates {
  const file = (name: string) => path.join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=order-service test CA',
  )
  openssl(
    'req',
    ...ec,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=order-service test server',
  )
  writeFileSync(file('server.ext'), `subjectAltName=${altNames.join(',')}\n`)
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
  )
  return { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') }
}

export interface Cluster {
  port: number
  /** The temporary folder holding the cluster (and anything the test put there). */
  dir: string
  /** `postgres://<user>@<host>:<port>/postgres`, the host `127.0.0.1` unless given. */
  url: (user?: string, host?: string) => string
  /** Runs SQL as the superuser `postgres` over the cluster's socket (no TLS, no password). */
  psql: (sql: string) => string
  /** Stops the cluster and deletes its folder. */
  stop: () => void
}

/**
 * A throwaway PostgreSQL cluster: initdb in a temporary folder, started with pg_ctl on a free
 * port of 127.0.0.1, its socket in the folder. `tls` turns ssl on with those files; `hba` is
 * its whole pg_hba.conf for TCP connections (default: any user, `trust`). `prepare` runs on
 * the folder before initdb (to put certificates there). Call `stop` when done.
 */
export async function startCluster({
  prepare,
  tls,
  hba = 'host all all 127.0.0.1/32 trust',
}: {
  prepare?: (dir: string) => Certificates
  tls?: boolean
  hba?: string
} = {}): Promise<Cluster> {
  if (!pgBin) throw new Error('no PostgreSQL server binaries')
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-cluster-'))
  const certificates = prepare?.(dir)
  const data = path.join(dir, 'data')
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    for (const entry of [dir, ...readdirSync(dir).map((e) => path.join(dir, e))])
      chownSync(entry, uid, gid)
  }
  if (certificates) chmodSync(certificates.keyFile, 0o600)
  const bin = (name: string) => path.join(pgBin, name)
  run(bin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  writeFileSync(path.join(data, 'pg_hba.conf'), `local all all trust\n${hba}\n`)
  const port = await freePort()
  const settings = [
    `-c port=${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    ...(tls && certificates
      ? [
          '-c ssl=on',
          `-c ssl_cert_file=${certificates.certFile}`,
          `-c ssl_key_file=${certificates.keyFile}`,
        ]
      : []),
  ].join(' ')
  run(bin('pg_ctl'), [
    '-D',
    data,
    '-o',
    settings,
    '-l',
    path.join(dir, 'log'),
    '-w',
    '-t',
    '60',
    'start',
  ])
  let stopped = false
  return {
    port,
    dir,
    url: (user = 'postgres', host = '127.0.0.1') => `postgres://${user}@${host}:${port}/postgres`,
    psql: (sql) =>
      run(bin('psql'), [
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-Atqc',
        sql,
      ])
        .toString()
        .trim(),
    stop: () => {
      if (stopped) return
      stopped = true
      try {
        run(bin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
