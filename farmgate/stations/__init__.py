"""Village e-commerce service stations (村级电商服务站): records kept by the township, pickup
with a code, cash taken at the station, orders placed for villagers without a smartphone."""
