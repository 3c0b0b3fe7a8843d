// Package demo is the part of the sessionkit demo app that is the same on
// every framework: the handlers, the pages, the CSRF protection, the body
// limit, the flags and the store. The apps in examples/gin, examples/echo
// and examples/fiber add only their framework's routes, responses and
// server, so a diff of two of them shows what changes between frameworks.
//
// # What the demo gets right
//
//   - Anonymous pages write no session: the login form's CSRF token is a
//     signed double-submit cookie ([CSRF]), so a flood of visitors leaves
//     the store empty. At login the token moves into the session, which
//     from then on is the only one that counts.
//   - Form bodies are limited to [MaxBody]; a larger one is answered 413.
//   - -secure gives both cookies the Secure attribute and the __Host- name
//     prefix (Path=/, no Domain), for deployments behind HTTPS.
//   - Every page is sent with Cache-Control: no-store: each one carries a
//     CSRF token, and the logged-in ones the user's data.
//   - Store failures are logged with the session's hashed store key only,
//     as core writes it into its errors, never the raw session ID; so are
//     the session events ([App.LogEvent]).
//   - Login binds the session to the user ([core.Session.SetUser]) along
//     with the Renew, and "Your devices" (/devices) lists the user's
//     sessions, logs out the other devices and revokes one. Its forms
//     carry the session's CSRF token like the others, and a revoke posts
//     the session's handle, which is no credential: a handle that is not
//     one of the user's sessions destroys nothing and says so.
package demo
