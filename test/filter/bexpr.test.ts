import test from 'ava';
import { compileFilter, FilterError } from '../../src/filter/bexpr.ts';

const sn = {
  Node: 'n1', Address: '10.0.0.1', NodeMeta: { env: 'prod', 'rack-id': 'r1' }, ServiceName: 'web', ServiceTags: ['v1', 'primary'], ServicePort: 80,
  ServiceMeta: {}, ServiceEnableTagOverride: false, ServiceAddress: '',
};
const entry = { Node: { Node: 'n1', Meta: { env: 'prod' } }, Service: { Service: 'web', Tags: ['v1'] }, Checks: [{ CheckID: 'serfHealth', Status: 'passing' }, { CheckID: 'c2', Status: 'warning' }] };

const cases: [string, unknown, boolean][] = [
  ['ServiceName == "web"', sn, true],
  ['ServiceName == web', sn, true],
  ['ServiceName != "web"', sn, false],
  ['ServicePort == 80', sn, true],
  ['ServicePort == 81', sn, false],
  ['ServiceEnableTagOverride == false', sn, true],
  ['NodeMeta.env == prod', sn, true],
  ['NodeMeta["rack-id"] == "r1"', sn, true],
  ['NodeMeta.missing == "x"', sn, false],
  ['NodeMeta.missing is empty', sn, true],
  ['ServiceMeta is empty', sn, true],
  ['ServiceTags is not empty', sn, true],
  ['ServiceAddress is empty', sn, true],
  ['"primary" in ServiceTags', sn, true],
  ['"secondary" not in ServiceTags', sn, true],
  ['ServiceTags contains "v1"', sn, true],
  ['ServiceTags not contains "v1"', sn, false],
  ['Address contains "10.0"', sn, true],
  ['NodeMeta contains "env"', sn, true],
  ['Node matches "^n[0-9]$"', sn, true],
  ['Node not matches `^x`', sn, true],
  ['ServiceName == "web" and (NodeMeta.env == "dev" or ServicePort == 80)', sn, true],
  ['not ServiceName == "web"', sn, false],
  ['not (ServicePort == 80 and Node == "n2")', sn, true],
  ['ServiceName == "db" or "v1" in ServiceTags and Node == "n1"', sn, true],
  ['Checks.Status == warning', entry, true],
  ['Checks.Status == critical', entry, false],
  ['Checks.Status != critical', entry, true],
  ['Service.Tags contains v1 and Node.Meta.env == prod', entry, true],
];

for (const [expr, obj, want] of cases) {
  test(`bexpr: ${expr} → ${want}`, t => {
    t.is(compileFilter(expr)(obj), want);
  });
}

for (const bad of ['', 'ServiceName ==', 'ServiceName = "x"', '(ServiceName == "x"', 'ServiceName == "x" and', 'ServiceName matches "("', '"x" ServiceTags', 'ServiceName == "unterminated']) {
  test(`bexpr: syntax error for ${JSON.stringify(bad)}`, t => {
    t.throws(() => compileFilter(bad), { instanceOf: FilterError });
  });
}
