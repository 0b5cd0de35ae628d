import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// How a detection run decides, from what was asked and what the model bundle stores: the score
/// (asked, else the stored detector's, else `defaultScore`), the normal classes (asked, else the stored
/// detector's, else the classes the model was trained on) and the detector (the stored one
/// when no rule or refit is asked and it is for this score; else a rule fitted now — the one
/// asked, the stored one, or contamination 0.05).
public struct DetectionPolicy {
    /// The model and what it stores (detector, training classes).
    public let bundle: TrainedModel
    /// The score used.
    public let score: AnomalyScore
    /// ELBO scores: latent samples per input (asked, the stored detector's for the same score, or 8).
    public let elboSamples: Int
    /// Labels that count as normal, when known.
    public let normalClasses: Set<Int>?

    /// What to do about the threshold.
    public enum Choice: Equatable {
        /// Use the stored detector as it is.
        case stored(Detector)
        /// Fit `rule` now; `why` says where the rule came from ("" when it was asked for).
        case fit(ThresholdRule, why: String)
    }

    /// The score where none is asked or stored and training data is at hand to fit one, by
    /// measurement (docs/anomaly-detection.md): the combined score, ahead of reconstruction alone
    /// on one-class Fashion-MNIST (0.9375 against 0.8984) and with the presets on tables; for a
    /// model sized from the data (`DataDefaults`), reconstruction, ahead of combined on the
    /// tabular fixtures (mean AUROC 0.978 against 0.970; its small linear code is a weak score).
    public static func fittingDefault(for bundle: TrainedModel) -> AnomalyScore {
        bundle.dataDefaults == nil ? .combined : .mse
    }

    /// The policy for `bundle`, with what was asked (nil: not asked). `defaultScore` applies when
    /// no score is asked or stored (mse where no training data is at hand to calibrate another).
    public init(bundle: TrainedModel, score: AnomalyScore? = nil, elboSamples: Int? = nil, normalClasses: Set<Int>? = nil,
                defaultScore: AnomalyScore = .mse) {
        self.bundle = bundle
        let stored = bundle.detector
        let kind = score ?? stored?.score ?? defaultScore
        self.score = kind
        self.elboSamples = elboSamples ?? (stored?.score == kind ? stored?.elboSamples : nil) ?? 8
        self.normalClasses = normalClasses ?? stored?.normalClasses.map(Set.init) ?? bundle.classes.map(Set.init)
    }

    /// The scorer for this policy's score: code and combined scores with `calibration`, else the
    /// stored detector's.
    public func scorer(calibration: ScoreCalibration? = nil) throws -> AnomalyScorer {
        try AnomalyScorer(model: bundle.model, score: score, elboSamples: elboSamples, calibration: calibration ?? bundle.detector?.calibration)
    }

    /// Whether a scorer needs a calibration fitted now: the score needs one and none is stored.
    public var needsCalibration: Bool { score.needsCalibration && bundle.detector?.calibration == nil }

    /// The stored detector, or the rule to fit when `rule` is given, `refit` is asked, or the
    /// stored detector is for another score.
    public func choose(rule: ThresholdRule?, refit: Bool) -> Choice {
        let stored = bundle.detector
        if rule == nil, !refit, let stored, stored.score == score, !needsCalibration { return .stored(stored) }
        if let rule { return .fit(rule, why: "") }
        if let stored { return .fit(stored.rule, why: "the stored rule") }
        return .fit(.contamination(0.05), why: "no threshold given or stored: the default rule")
    }

    /// Fits `rule` on `trainingScores` (none needed for an explicit value).
    /// `calibration`: the code and combined scores' (else the stored one).
    public func fit(_ rule: ThresholdRule, trainingScores: [Float], fittedOn: String?, calibration: ScoreCalibration? = nil) throws -> Detector {
        try Detector.fit(score: score, rule: rule, trainingScores: trainingScores, fittedOn: fittedOn,
                         normalClasses: normalClasses.map { $0.sorted() }, elboSamples: elboSamples,
                         calibration: calibration ?? bundle.detector?.calibration)
    }

    /// The figures of a detection: flags at the detector's threshold and, with ground truth,
    /// precision, recall, F1, false-positive rate, and AUROC/AUPRC when both kinds are present.
    public func summary(scores: [Float], detector: Detector, anomalies: [Bool]?, model: String) throws -> DetectionSummary {
        let flags = detector.flags(scores)
        var s = DetectionSummary(model: model, score: score.rawValue, rule: detector.rule.description, threshold: detector.threshold,
                                 samples: scores.count, flagged: flags.filter { $0 }.count)
        guard let anomalies else { return s }
        let positives = anomalies.filter { $0 }.count
        s.anomalies = positives
        let c = DetectionMetrics.confusion(flags: flags, anomalies: anomalies)
        (s.precision, s.recall, s.f1, s.falsePositiveRate) = (c.precision, c.recall, c.f1, c.falsePositiveRate)
        if positives > 0 && positives < scores.count {
            s.auroc = try DetectionMetrics.auroc(scores: scores, anomalies: anomalies)
            s.auprc = try DetectionMetrics.averagePrecision(scores: scores, anomalies: anomalies)
        }
        return s
    }
}

/// The figures of a detection run (what `detect --json` prints).
public struct DetectionSummary: Codable, Equatable {
    public var model: String
    public var score: String
    public var rule: String
    public var threshold: Double
    public var samples: Int
    public var flagged: Int
    public var anomalies: Int?
    public var auroc: Double?
    public var auprc: Double?
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?
    public var falsePositiveRate: Double?
}
