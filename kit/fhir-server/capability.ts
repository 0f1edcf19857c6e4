import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';

/**
 * The CapabilityStatement served at `GET /metadata`. medplum's router has none; browser clients
 * such as the CDS Hooks sandbox read `fhirVersion` from it before anything else.
 */
export function capabilityStatement(resourceTypes: readonly string[], requireToken: boolean): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = [...resourceTypes].sort().map((type) => ({
    type,
    interaction: [
      { code: 'read' },
      { code: 'vread' },
      { code: 'update' },
      { code: 'delete' },
      { code: 'create' },
      { code: 'search-type' },
    ],
    updateCreate: true,
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'spine-cds test FHIR server (@medplum/fhir-router, in memory)' },
    implementation: { description: 'In-memory FHIR R4 server for tests and the local sandbox; data are lost on exit.' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    rest: [
      {
        mode: 'server',
        ...(requireToken ? { security: { description: 'Requires Authorization: Bearer <token>.' } } : {}),
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}
