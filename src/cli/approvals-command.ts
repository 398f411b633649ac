/**
 * `tessera approvals list|approve|deny`: a person decides pending writes. Approvals live in the
 * `tessera_approvals` table of the database the server uses (`--db URL` or TESSERA_DATABASE_URL); the
 * decision is recorded with the approver's name, and the agent's repeated call then runs once.
 */
import type { Command } from 'commander'
import { reportErrors } from './report-errors.ts'
import { userInfo } from 'node:os'
import { TesseraError } from '../errors/index.ts'
import { createPostgresDatabase } from '../executor/index.ts'
import { describeWrite } from '../tools/index.ts'
import {
  ensureApprovalTable,
  PostgresApprovalStore,
  type Approval,
  type ApprovalStatus,
} from '../stores/index.ts'

export interface ApprovalsOptions {
  readonly db?: string
  readonly as?: string
  readonly status?: string
  readonly tenant?: string
  readonly json?: boolean
}

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected']

function line(a: Approval): string {
  const state = a.status === 'approved' && a.usedAt !== null ? 'used' : a.status
  return `${a.id}  ${state.padEnd(8)}  tenant ${a.tenantId}  expires ${a.expiresAt}\n    ${describeWrite(a.tool, a.args)}`
}

export async function runApprovals(
  action: 'list' | 'approve' | 'deny',
  id: string | undefined,
  options: ApprovalsOptions,
  out: (line: string) => void,
): Promise<number> {
  const url = options.db ?? process.env['TESSERA_DATABASE_URL']
  if (url === undefined) {
    throw new TesseraError('VALIDATION_ERROR', 'Give --db URL (or set TESSERA_DATABASE_URL)', {
      hints: ['Approvals are stored in the tessera_approvals table of the served database'],
    })
  }
  const database = createPostgresDatabase(url)
  try {
    await ensureApprovalTable(database.db)
    const store = new PostgresApprovalStore(database.db)
    if (action === 'list') {
      const status = options.status ?? 'pending'
      if (!(STATUSES as readonly string[]).includes(status)) {
        throw new TesseraError('VALIDATION_ERROR', `--status must be one of ${STATUSES.join(', ')}`)
      }
      const list = await store.list({
        status: status as ApprovalStatus,
        ...(options.tenant === undefined ? {} : { tenantId: options.tenant }),
      })
      if (options.json === true)
        for (const a of list) out(JSON.stringify({ ...a, preview: describeWrite(a.tool, a.args) }))
      else if (list.length === 0) out(`No ${status} approvals.`)
      else for (const a of list) out(line(a))
      return 0
    }
    if (id === undefined)
      throw new TesseraError('VALIDATION_ERROR', `approvals ${action} needs an approval id`)
    const approver = options.as ?? userInfo().username
    const decided =
      action === 'approve' ? await store.approve(id, approver) : await store.reject(id, approver)
    if (decided === null) {
      out(
        `Nothing to ${action === 'approve' ? 'approve' : 'deny'}: ${id} is unknown, already decided or expired.`,
      )
      return 1
    }
    if (options.json === true) out(JSON.stringify(decided))
    else out(`${action === 'approve' ? 'Approved' : 'Denied'} by ${approver}:\n${line(decided)}`)
    return 0
  } finally {
    await database.close()
  }
}

export function registerApprovalsCommand(program: Command): void {
  const approvals = program
    .command('approvals')
    .description('List, approve and deny writes waiting for approval')
  for (const action of ['list', 'approve', 'deny'] as const) {
    const cmd = approvals
      .command(action === 'list' ? 'list' : `${action} <id>`)
      .option('--db <url>', 'PostgreSQL connection string (default: TESSERA_DATABASE_URL)')
      .option('--json', 'machine-readable output')
    if (action === 'list') {
      cmd.option('--status <status>', 'pending | approved | rejected', 'pending').option('--tenant <id>')
    } else cmd.option('--as <name>', 'approver name recorded with the decision (default: your user name)')
    cmd.action(async (...args: unknown[]) => {
      const id = action === 'list' ? undefined : (args[0] as string)
      const opts = (action === 'list' ? args[0] : args[1]) as ApprovalsOptions
      await reportErrors(() => runApprovals(action, id, opts, (line) => console.log(line)))
    })
  }
}
