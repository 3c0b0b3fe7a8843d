package demo

import "html/template"

// pages are the templates of the pages, one "define" each.
var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sessionkit demo ({{.Framework}})</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.flash { background: #e6f4ea; border: 1px solid #8c8; border-radius: 4px; padding: .5rem 1rem; }
.error { background: #fbe9e9; border-color: #c88; }
label { display: block; margin: .5rem 0; }
#otp { font-size: 2rem; letter-spacing: .3rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; font-size: 14px; }
tr.this-device { background: #eef4fb; }
td form { margin: 0; }
td button { white-space: nowrap; }
</style>
</head>
<body>
<h1>sessionkit demo <small>({{.Framework}})</small></h1>
{{range .Flashes}}<p class="flash">{{.}}</p>
{{end}}{{end}}

{{define "bottom"}}</body>
</html>
{{end}}

{{define "login"}}{{template "top" .}}
{{with .Error}}<p class="flash error" id="error">{{.}}</p>{{end}}
<form id="login-form" method="post" action="/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Username <input id="username" name="username" required maxlength="64" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" required autocomplete="current-password"></label>
<label><input id="remember" name="remember" type="checkbox" value="on"> Remember me for {{.Remember}}</label>
<button id="login-button" type="submit">Log in</button>
</form>
<p>This is a demo: any username works, and the password is <code>password</code>.</p>
{{template "bottom"}}{{end}}

{{define "home"}}{{template "top" .}}
<p id="greeting">Hello, <strong id="user">{{.User}}</strong>!</p>
<p>Visits to this page in this session: <strong id="visits">{{.Visits}}</strong>.</p>
<p id="lifetime">{{if .Remembered}}This browser is remembered for {{.Remember}}.{{else}}This session ends when you close the browser.{{end}}</p>
<p><a id="code-link" href="/code">Get a one-time code</a></p>
<p><a id="devices-link" href="/devices">Your devices</a></p>
<form id="logout-form" method="post" action="/logout">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button id="logout-button" type="submit">Log out</button>
</form>
{{template "bottom"}}{{end}}

{{define "code"}}{{template "top" .}}
{{if .Code}}<p>Your one-time code: <code id="otp">{{.Code}}</code></p>
<p>The session forgets it {{.CodeTTL}} after it was made (a per-key TTL); reload to see.</p>
{{else}}<p id="no-code">No code at the moment. A new one lives for {{.CodeTTL}}.</p>
{{end}}<form id="code-form" method="post" action="/code">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button id="code-button" type="submit">New code</button>
</form>
<p><a id="home-link" href="/">Back</a></p>
{{template "bottom"}}{{end}}

{{define "devices"}}{{template "top" .}}
<h2>Your devices</h2>
<p>Where <strong id="user">{{.User}}</strong> is logged in: <strong id="device-count">{{len .Devices}}</strong> session{{if ne (len .Devices) 1}}s{{end}}.</p>
<table id="devices">
<thead><tr><th>Device</th><th>Logged in</th><th>Expires</th><th>Remembered</th><th></th></tr></thead>
<tbody>
{{range .Devices}}<tr class="device{{if .This}} this-device{{end}}">
<td>{{if .This}}<strong>This device</strong>{{else}}Another device{{end}}</td>
<td class="created">{{.Created}}</td>
<td class="expires">{{.Expires}}</td>
<td class="remembered">{{if .Remember}}yes{{else}}no{{end}}</td>
<td><form class="revoke-form" method="post" action="/devices/revoke">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="handle" value="{{.Handle}}">
<button class="revoke-button" type="submit">{{if .This}}Log out{{else}}Revoke{{end}}</button>
</form></td>
</tr>
{{end}}</tbody>
</table>
<form id="logout-others-form" method="post" action="/devices/logout-others">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button id="logout-others-button" type="submit">Log out other devices</button>
</form>
<p><a id="home-link" href="/">Back</a></p>
{{template "bottom"}}{{end}}

{{define "forbidden"}}{{template "top" .}}
<p class="flash error" id="error">Forbidden: the form's CSRF token is missing or wrong. This app needs cookies to check the form: enable cookies for this site, then load the form again.</p>
<p><a href="/">Home</a></p>
{{template "bottom"}}{{end}}
`))
