module github.com/oscgpio/oscgpio

go 1.26.8

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/coder/websocket v1.8.15
	github.com/godbus/dbus/v5 v5.2.4
	github.com/holoplot/go-avahi v1.0.1
	github.com/hypebeast/go-osc v0.0.0-20220308234300-cec5a8a1e5f5
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/net v0.62.0
	periph.io/x/conn/v3 v3.7.3
	periph.io/x/devices/v3 v3.7.4
	periph.io/x/host/v3 v3.8.5
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
