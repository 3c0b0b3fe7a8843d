package bench

// echoApps are the Echo apps; see echo_apps.go.
func echoApps() []App { return nil }
