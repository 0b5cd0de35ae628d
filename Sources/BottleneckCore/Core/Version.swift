/// The release this source tree is: reports and `bottleneck --version` show it.
public enum BottleneckVersion {
    public static let current = "1.0.0"
}
