/**
 * createPostgresDatabase's sessions plan Tessera's prepared statements generically by default
 * (docs/scaling.md, "plan_cache_mode"), and leave the setting to the server, or to the caller's own startup
 * options, when asked.
 */
import { CompiledQuery } from 'kysely'
import { expect, it } from 'vitest'
import { createPostgresDatabase, type PostgresDatabaseOptions } from '../../src/executor/postgres-database.ts'
import { describeEachDatabase } from '../support/databases.ts'

describeEachDatabase(
  'plan_cache_mode of createPostgresDatabase (PostgreSQL server only)',
  (db) => {
    async function modeOf(options: PostgresDatabaseOptions, startup?: string): Promise<string | undefined> {
      const { options: _ignored, ...base } = db().appPool.options
      const database = createPostgresDatabase(
        { ...base, ...(startup === undefined ? {} : { options: startup }), max: 1 },
        options,
      )
      try {
        const r = await database.db.executeQuery<{ mode: string }>(
          CompiledQuery.raw("select current_setting('plan_cache_mode') as mode", []),
        )
        return r.rows[0]?.mode
      } finally {
        await database.close()
      }
    }

    it('uses generic plans unless told otherwise', async () => {
      expect(await modeOf({})).toBe('force_generic_plan')
      expect(await modeOf({ planCacheMode: 'force_custom_plan' })).toBe('force_custom_plan')
    })

    it("leaves the server's setting, and the caller's own startup option, alone", async () => {
      expect(await modeOf({ planCacheMode: 'server' })).toBe('auto')
      expect(await modeOf({}, '-c plan_cache_mode=auto')).toBe('auto')
      expect(await modeOf({}, '-c search_path=public')).toBe('force_generic_plan')
    })
  },
  { only: ['postgres'] },
)
