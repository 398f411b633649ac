/**
 * Built once per test run: a PGlite data dir with the fixture loaded (each test file loads a copy instead of
 * paying for initdb), and, when TESSERA_TEST_DATABASE_URL is set, a PostgreSQL template database that each
 * test file clones with CREATE DATABASE … TEMPLATE.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { fixtureSql } from './fixture-sql.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplatePath: string
    postgresTemplate: { url: string; template: string } | null
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tmp = join(process.cwd(), '.tessera-tmp')
  mkdirSync(tmp, { recursive: true })
  const templatePath = join(tmp, `pglite-template-${process.pid}.tar`)

  const lite = new PGlite()
  await lite.exec(fixtureSql())
  const dump = await lite.dumpDataDir('none')
  writeFileSync(templatePath, Buffer.from(await dump.arrayBuffer()))
  await lite.close()
  project.provide('pgliteTemplatePath', templatePath)

  const url = process.env['TESSERA_TEST_DATABASE_URL']
  let cleanupPostgres = async (): Promise<void> => {}
  if (url) {
    const template = `tessera_tpl_${process.pid}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`drop database if exists ${template}`)
    await admin.query(`create database ${template}`)
    await admin.end()
    const tplClient = new pg.Client({ connectionString: withDatabase(url, template) })
    await tplClient.connect()
    await tplClient.query(fixtureSql())
    await tplClient.end()
    project.provide('postgresTemplate', { url, template })
    console.log(`database suites run on: PGlite (${templatePath}) and PostgreSQL (template ${template})`)
    cleanupPostgres = async () => {
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      await c.query(`drop database if exists ${template} with (force)`)
      await c.end()
    }
  } else {
    project.provide('postgresTemplate', null)
    console.log('database suites run on: PGlite only (set TESSERA_TEST_DATABASE_URL to add PostgreSQL)')
  }

  return async () => {
    rmSync(templatePath, { force: true })
    await cleanupPostgres()
  }
}

export function withDatabase(url: string, database: string, user?: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  if (user !== undefined) {
    u.username = user
    u.password = ''
  }
  return u.toString()
}
