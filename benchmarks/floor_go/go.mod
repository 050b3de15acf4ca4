module carrier-sim/floor_go

go 1.19
