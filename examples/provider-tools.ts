/**
 * Provider tool conversion without a provider SDK: a toolset's tools converted for OpenAI, Anthropic and the
 * AI SDK, each bound to one tenant's context, and one tool call per provider executed the way an agent loop
 * would after the model answered (the model's answer is written out here instead of coming from an API). The
 * context fixes whom every call acts as: a model that asks for another tenant's row gets NOT_FOUND, exactly what
 * a row that does not exist gets. Prints the tool names, then one JSON line per provider: what goes back to it.
 * Run with `npx tsx --conditions=tessera-source examples/provider-tools.ts` (embedded, or `DATABASE_URL`).
 */
import { createToolset, definePolicy, toAnthropicTools, toOpenAITools, toVercelAITools } from 'tessera-db'
import { openExampleDatabase } from './example-database.ts'

const database = await openExampleDatabase()
const policy = definePolicy({
  models: {
    Customer: {
      table: 'customers',
      fields: { id: 'allow', name: 'allow', email: 'mask', ssn: 'deny' },
      scoping: { tenant_id: 'principal.tenantId' },
      unscopedColumns: ['org_id'],
    },
    Order: {
      table: 'orders',
      fields: { id: 'allow', customer_id: 'allow', status: 'allow', total: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      unscopedColumns: ['org_id'],
      aggregations: { fields: ['total'], groupBy: ['status'] },
    },
  },
})
const toolset = await createToolset({
  db: database.db,
  policy,
  secret: 'example-secret-change-me-0123456789',
  role: 'tessera_app',
})
// In an application this comes from the authenticated user, never from the model.
const acme = { principal: { tenantId: 'a0000000-0000-4000-8000-000000000000' } }

// OpenAI Chat Completions: `tools` goes into `chat.completions.create({ tools })`; each `tool_calls[]` entry of
// the reply goes to `execute`, and its answer is the `role: 'tool'` message of the next request.
const openai = toOpenAITools(toolset, acme)
console.log(`tools: ${openai.tools.map((t) => t.function.name).join(', ')}`)
const toolMessage = await openai.execute({
  id: 'call_1',
  type: 'function',
  function: {
    name: 'db_query',
    arguments: JSON.stringify({ model: 'Customer', select: ['name', 'email'], orderBy: ['name'], limit: 2 }),
  },
})
console.log(JSON.stringify({ openai: toolMessage }))

// Anthropic Messages: `tools` goes into `messages.create({ tools })`; a `tool_use` block of the reply goes to
// `execute`, and the `tool_result` block goes back in the next user message. Here the model asks for globex's
// customer by id: the bound context is acme, so the result is the NOT_FOUND error.
const anthropic = toAnthropicTools(toolset, acme)
const toolResult = await anthropic.execute({
  type: 'tool_use',
  id: 'toolu_1',
  name: 'db_get',
  input: { model: 'Customer', id: 'c0b00000-0000-4000-8000-000000000001' },
})
console.log(JSON.stringify({ anthropic: toolResult }))

// AI SDK: the record is the `tools` option of `generateText` / `streamText`, which calls `execute` itself.
const aiSdk = toVercelAITools(toolset, acme)
const revenue = await aiSdk['db_aggregate']?.execute({
  model: 'Order',
  op: 'sum',
  field: 'total',
  groupBy: ['status'],
})
console.log(JSON.stringify({ aiSdk: revenue }))

await database.close()
