/** Runs a CLI action and turns a TesseraError into its code, message and hints on stderr (exit code 2). */
import { isTesseraError } from '../errors/index.ts'

export async function reportErrors(action: () => Promise<number | void>): Promise<void> {
  try {
    const code = await action()
    if (typeof code === 'number') process.exitCode = code
  } catch (error) {
    if (!isTesseraError(error)) throw error
    console.error(`✘ ${error.code}: ${error.message}`)
    for (const hint of error.hints) console.error(`  hint: ${hint}`)
    const issues = error.details['issues']
    if (Array.isArray(issues)) for (const issue of issues) console.error(`  ${JSON.stringify(issue)}`)
    process.exitCode = 2
  }
}
