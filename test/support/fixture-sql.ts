export { saasFixtureSql as fixtureSql } from '../../src/cli/saas-fixture.ts'
