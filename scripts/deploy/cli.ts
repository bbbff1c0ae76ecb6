import { DefaultAzureCredential } from '@azure/identity'
import { runDeployCli } from './run.ts'

process.exitCode = await runDeployCli(process.argv.slice(2), process.env, {
  log: (line) => console.log(line),
  error: (line) => console.error(line),
  createCredential: () => new DefaultAzureCredential(),
})
