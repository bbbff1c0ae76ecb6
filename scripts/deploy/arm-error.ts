import type { ErrorResponse } from '@azure/arm-resourcesdeployments'

/**
 * Flattens an ARM error tree into "code: message" lines, details as bullets
 * below. ARM nests the useful part (which resource, which property) in
 * details, often several levels deep.
 */
export function formatArmError(error: ErrorResponse, depth = 0, bullet = false): string[] {
  const indent = '  '.repeat(depth)
  const target = error.target ? ` (${error.target})` : ''
  const line = `${indent}${bullet ? '- ' : ''}${error.code ?? 'Error'}: ${oneLine(error.message ?? '')}${target}`
  return [
    line,
    ...(error.details ?? []).flatMap((detail) => formatArmError(detail, depth + 1, true)),
  ]
}

/** ARM messages sometimes embed JSON with newlines; keep each detail on one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
