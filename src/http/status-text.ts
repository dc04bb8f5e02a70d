// HTTP status lines for the codes the routes answer with (uWS writes the line we give it).

const reasons: Readonly<Record<number, string>> = {
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** "200 OK": the code and its reason phrase (an unlisted code gets a bare "Status"). */
export function statusLine(status: number): string {
  return `${status} ${reasons[status] ?? 'Status'}`;
}
