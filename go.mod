module github.com/oscgpio/oscgpio

go 1.26.8

require (
	github.com/hypebeast/go-osc v0.0.0-20220308234300-cec5a8a1e5f5 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	periph.io/x/conn/v3 v3.7.3 // indirect
	periph.io/x/host/v3 v3.8.5 // indirect
)
