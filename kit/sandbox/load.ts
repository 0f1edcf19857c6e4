import { demoPatientBundles, type DemoPatient } from '../demo-patients/index.js';
import { postBundle } from '../fhir/client.js';
import { loadExternalPatients, transactionOf, type ExternalPatient } from '../fixtures/external.js';

/** Uploads the demo patients (dates resolved against `today`); PUTs only, so repeating is harmless. */
export async function loadDemoPatients(fhirBase: string, today: Date, token?: string): Promise<DemoPatient[]> {
  const patients = demoPatientBundles(today);
  for (const p of patients) await postBundle(fhirBase, p.bundle, token);
  return patients;
}

/** Uploads the external fixtures (STU3 converted), one transaction per patient. */
export async function loadExternalFixtures(fhirBase: string, token?: string): Promise<ExternalPatient[]> {
  const patients = await loadExternalPatients();
  for (const p of patients) await postBundle(fhirBase, transactionOf(p.resources), token);
  return patients;
}
