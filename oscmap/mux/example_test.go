package mux_test

import (
	"fmt"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/mux"
)

func ExampleMatch() {
	for _, p := range []string{"/led", "/ledger", "/led/*", "/l?d", "/{led,relay}", "/led[", "/[!a-k]ed"} {
		fmt.Printf("%-12s /led:%-5v /led/1:%v\n", p, mux.Match(p, "/led"), mux.Match(p, "/led/1"))
	}
	// Output:
	// /led         /led:true  /led/1:false
	// /ledger      /led:false /led/1:false
	// /led/*       /led:false /led/1:true
	// /l?d         /led:true  /led/1:false
	// /{led,relay} /led:true  /led/1:false
	// /led[        /led:false /led/1:false
	// /[!a-k]ed    /led:true  /led/1:false
}

type printer string

func (p printer) ServeOSC(r *mux.Request) { fmt.Println(string(p), "<-", r.Msg.Address) }

// A Mux runs every handler a pattern reaches, once each; a reserved prefix
// takes its whole subtree and no pattern reaches into it.
func ExampleMux() {
	m := mux.New()
	led, relay, sim := printer("led"), printer("relay"), printer("sim")
	m.Handle("/led", led)
	m.Handle("/test", led)
	m.Handle("/relay", relay)
	m.HandlePrefix("/sim/", sim)
	for _, a := range []string{"/test", "/*", "/{led,test}", "/sim/GPIO27", "/*/GPIO27", "/nothing"} {
		if n := m.Dispatch(&mux.Request{Msg: osc.NewMessage(a)}); n == 0 {
			fmt.Println("nothing <-", a)
		}
	}
	// Output:
	// led <- /test
	// led <- /*
	// relay <- /*
	// led <- /{led,test}
	// sim <- /sim/GPIO27
	// nothing <- /*/GPIO27
	// nothing <- /nothing
}
