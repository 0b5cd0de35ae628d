import Bottleneck
print("bottleneck")
