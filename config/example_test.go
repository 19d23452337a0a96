package config_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/oscgpio/oscgpio/config"
)

func ExampleParse() {
	c, err := config.Parse("mapping.yaml", []byte(`
destinations:
  max: 192.168.1.10:9000
outputs:
  - name: lamp
    pin: pin 15
    address: /lamp
    active_low: true
inputs:
  - name: button
    pin: GPIO27
    pull: up
    active_low: true
    address: /button
    to: [max]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	o, in := c.Outputs[0], c.Inputs[0]
	fmt.Println(o.Name, o.Pin, o.Addresses, o.ActiveLow, o.NoArg)
	fmt.Println(in.Name, in.Pin, in.Address, in.Debounce, in.Press, in.Release, string(in.Type), in.To)
	d, _ := c.Destination("max")
	fmt.Println(c.Listen, d.Addr)
	// Output:
	// lamp GPIO22 (pin 15) [/lamp] true toggle
	// button GPIO27 (pin 13) /button 20ms 1 0 i [max]
	// 127.0.0.1:5005 192.168.1.10:9000
}

func ExampleParse_errors() {
	_, err := config.Parse("mapping.yaml", []byte(`destinations:
  max: 192.168.1.10:9000
outputs:
  - name: led
    pin: GPIO41
    address: /led*
    activ_low: true
inputs:
  - name: button
    pin: GPIO27
    address: /button
    to: [maxx]
`))
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
		}
	}
	// Output:
	// mapping.yaml:5:10: pin "GPIO41" is not on the 40-pin header (GPIO2-GPIO27)
	// mapping.yaml:6:14: address "/led*" has pattern characters; a mapped address is plain, like /led
	// mapping.yaml:7:5: unknown key "activ_low" in output "led"; did you mean "active_low"?
	// mapping.yaml:12:10: input "button" sends to "maxx", which is not under destinations (defined: max); did you mean "max"?
}

func ExampleDefault() {
	if err := config.Default().WriteTable(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// mapping tutorial (embedded)
	// listen 127.0.0.1:5005
	// destinations monitor=127.0.0.1:5006
	//
	// NAME    DIR  PIN     HEADER  ADDRESS      DETAILS
	// led     out  GPIO17  pin 11  /led, /test  initial off, safe off, no-arg toggle
	// button  in   GPIO27  pin 13  /button      pull up, active-low, debounce 20ms, values 1/0 as i, to: monitor=127.0.0.1:5006
}

func ExampleCheckAddress() {
	for _, a := range []string{"/led/1", "/led*", "/led\u200b", "led"} {
		fmt.Println(config.CheckAddress(a))
	}
	// Output:
	// <nil>
	// address "/led*" has pattern characters; a mapped address is plain, like /led
	// address "/led\u200b" has the non-printing character U+200B (invisible, often pasted with the text): retype the address
	// address "led" does not start with '/': write it like /led
}

func ExampleConfig_Output() {
	c := config.Default()
	if o, ok := c.Output("led"); ok {
		fmt.Println(o.Pin, o.Addresses)
	}
	if in, ok := c.Input("button"); ok {
		fmt.Println(in.Pin, in.Address, in.Pull)
	}
	_, ok := c.Output("fan")
	fmt.Println(ok)
	// Output:
	// GPIO17 (pin 11) [/led /test]
	// GPIO27 (pin 13) /button up
	// false
}
