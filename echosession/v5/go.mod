module github.com/sessionkit/sessionkit/echosession/v5

go 1.26.0

require (
	github.com/labstack/echo/v5 v5.4.6
	github.com/sessionkit/sessionkit/core v0.1.0
)

replace github.com/sessionkit/sessionkit/core => ../../core
