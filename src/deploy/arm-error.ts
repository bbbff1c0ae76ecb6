import type { ErrorResponse } from '@azure/arm-resourcesdeployments'

/**
 * Flattens an ARM error tree into "code: message" lines. ARM nests the useful
 * part (which resource, which property) in details, often several levels deep.
 */
export function formatArmError(error: ErrorResponse, depth = 0): string[] {
  const indent = '  '.repeat(depth)
  const bullet = depth === 0 ? '' : '- '
  const target = error.target ? ` (${error.target})` : ''
  const line = `${indent}${bullet}${error.code ?? 'Error'}: ${oneLine(error.message ?? '')}${target}`
  return [line, ...(error.details ?? []).flatMap((detail) => formatArmError(detail, depth + 1))]
}

/** ARM messages sometimes embed JSON with newlines; keep each detail on one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
