// The console's entry point: reads the runtime configuration, then renders the app.
import { render } from './vendor/preact.js';
import { html } from './ui.js';
import { configure } from './session.js';
import { App } from './app.js';

const res = await fetch('/config.json', { cache: 'no-store' });
configure(await res.json());
const root = document.getElementById('app');
// The loading text is static HTML, not Preact's; clear it rather than render beside it.
root.textContent = '';
render(html`<${App} />`, root);
