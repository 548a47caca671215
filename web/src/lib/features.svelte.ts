// What this server can do, as /api/server/features says; asked once per
// page load (a server gains a feature only when it restarts).
import { api } from './api';

export const features = $state({ smartSearch: false });

api
  .features()
  .then((f) => (features.smartSearch = f.smartSearch))
  // Without the answer the UI offers only what every server does.
  .catch(() => {});
