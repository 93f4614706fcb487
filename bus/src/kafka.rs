//! Kafka implementation of the bus (being written).
