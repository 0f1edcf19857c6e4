/** The EHR client a verified CDS Hooks JWT identified (set by the auth plugin). */
export interface AuthenticatedClient {
  iss: string;
  tenant?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Present when the request carried a verified JWT; undefined when CDS_AUTH=off. */
    client?: AuthenticatedClient;
  }
}
