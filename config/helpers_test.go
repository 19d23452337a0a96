package config

import "github.com/oscgpio/oscgpio/wiring"

type wiringPin = wiring.Pin

var resolve = wiring.Resolve
