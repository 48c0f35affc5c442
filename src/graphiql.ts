// The GraphiQL page at /graphql: Yoga's GraphiQL with its code inlined (no
// CDN), and the headers editor's Authorization also sent when the page opens
// its WebSocket, where the server reads the token (browsers cannot set headers
// on a WebSocket, and GraphiQL passes its headers to HTTP requests only).
import type { GraphiQLOptions } from 'graphql-yoga';

/** Where Yoga's page starts GraphiQL; the wrapper below takes its place. */
const RENDER_CALL = 'YogaGraphiQL.renderYogaGraphiQL(';

/**
 * Runs in the page: keeps the active tab's headers text and offers its
 * Authorization as the socket's connection params. GraphiQL persists the
 * headers of the tab it opens with under `graphiql:headers`.
 */
const SOCKET_AUTH_WRAPPER = `
function renderWithSocketAuth(root, options) {
  var headers = localStorage.getItem('graphiql:headers') || '';
  function connectionParams() {
    try {
      var parsed = JSON.parse(headers || '{}');
      for (var name in parsed) {
        if (name.toLowerCase() === 'authorization' && typeof parsed[name] === 'string') {
          return { authorization: parsed[name] };
        }
      }
    } catch (error) {}
    return {};
  }
  YogaGraphiQL.renderYogaGraphiQL(root, Object.assign({}, options, {
    connectionParams: connectionParams,
    onEditHeaders: function (text) { headers = text; },
    onTabChange: function (state) {
      var tab = state.tabs[state.activeTabIndex];
      headers = (tab && tab.headers) || '';
    },
  }));
}
`;

let rendered: { key: string; html: string } | null = null;

/** The page for these options; rendered once (GraphiQL's code is 9 MB) and loaded on first use. */
export async function renderGraphiQL(options: GraphiQLOptions): Promise<string> {
  const key = JSON.stringify(options);
  if (rendered?.key === key) return rendered.html;
  const { renderGraphiQL: render } = await import('@graphql-yoga/render-graphiql');
  let html = render(options);
  const at = html.lastIndexOf(RENDER_CALL);
  if (at !== -1) {
    html = `${html.slice(0, at)}${SOCKET_AUTH_WRAPPER}renderWithSocketAuth(${html.slice(at + RENDER_CALL.length)}`;
  }
  rendered = { key, html };
  return html;
}
