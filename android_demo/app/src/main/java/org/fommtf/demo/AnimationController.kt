package org.fommtf.demo

import android.content.Context
import android.graphics.Bitmap
import android.os.Handler
import android.os.Looper
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicReference
import org.fommtf.core.AnimationPipeline
import org.fommtf.core.ContractException
import org.fommtf.core.Frame
import org.fommtf.core.FrameScheduler

/**
 * Glue between the drivers (camera or clip), the core's [AnimationPipeline] and the screen.
 *
 * Driving frames go through a [FrameScheduler]: inference runs on its one background thread and
 * frames that arrive while it is busy are dropped (the newest one waits). The pipeline, a new
 * source photo and a re-centre request are all applied on that thread, between frames. Every
 * error reaches [Listener.onError] as a message; nothing is thrown at the UI.
 */
class AnimationController(
    private val context: Context,
    private val listener: Listener,
) : AutoCloseable {

    interface Listener {
        fun onFrame(frame: Bitmap, stats: String)
        fun onStatus(text: String)
        fun onError(message: String)
    }

    private val main = Handler(Looper.getMainLooper())
    private val loader = Executors.newSingleThreadExecutor()
    private val nextPipeline = AtomicReference<AnimationPipeline?>()
    private val nextSource = AtomicReference<Frame?>()
    private val recentre = AtomicBoolean(false)
    @Volatile private var pipeline: AnimationPipeline? = null // swapped on the scheduler thread
    private var lastSource: Frame? = null // ditto
    private val scheduler = FrameScheduler<Frame>(
        "fomm-inference",
        { frame -> process(frame) },
        null,
        { error -> report(error) },
    )

    /** Load the contract and the graphs in the background (again when [useGpu] changes). */
    fun load(useGpu: Boolean) {
        loader.execute {
            try {
                post { listener.onStatus("loading the model…") }
                val contract = LiteRtEngine.readContract(context)
                val engine = LiteRtEngine.load(context, contract, useGpu)
                nextPipeline.getAndSet(AnimationPipeline(contract, engine))?.let { runCatching { it.engine().close() } }
                val size = "${contract.width}x${contract.height}, ${contract.quant}"
                post { listener.onStatus("${engine.describe()} · model $size · motion ${contract.motion}") }
            } catch (e: Throwable) {
                report(e)
            }
        }
    }

    /** A new source photo; applied before the next driving frame. */
    fun setSource(photo: Frame) {
        nextSource.set(photo)
    }

    /** The next driving frame becomes the reference pose (relative motion starts there). */
    fun recentre() {
        recentre.set(true)
    }

    /** Offer a driving frame; false when it was dropped at once. */
    fun submit(frame: Frame): Boolean = scheduler.submit(frame)

    fun droppedFrames(): Long = scheduler.dropped()

    private fun process(frame: Frame) {
        nextPipeline.getAndSet(null)?.let { fresh ->
            pipeline?.let { runCatching { it.engine().close() } }
            pipeline = fresh
            lastSource?.let { fresh.setSource(it) } // the same photo on the new engine
        }
        val p = pipeline ?: return
        nextSource.getAndSet(null)?.let {
            p.setSource(it)
            lastSource = it
        }
        if (p.source() == null) return
        if (recentre.getAndSet(false)) p.resetDriving()
        val result = p.animate(frame)
        val bitmap = Bitmap.createBitmap(
            result.argb, p.contract().width, p.contract().height, Bitmap.Config.ARGB_8888,
        )
        val stats = p.timer().summary() +
            "\nscale ${result.scale} · dropped ${scheduler.dropped()} of ${scheduler.submitted()}"
        post { listener.onFrame(bitmap, stats) }
    }

    private fun report(error: Throwable) {
        val message = when (error) {
            is ContractException -> "Model contract: ${error.message}"
            else -> "${error.javaClass.simpleName}: ${error.message}"
        }
        post { listener.onError(message) }
    }

    private fun post(block: () -> Unit) {
        main.post(block)
    }

    /** Stop: the frame in progress finishes, then the engines are closed (off the UI thread). */
    override fun close() {
        scheduler.close()
        loader.execute {
            scheduler.awaitIdle(2000)
            nextPipeline.getAndSet(null)?.let { runCatching { it.engine().close() } }
            pipeline?.let { runCatching { it.engine().close() } }
        }
        loader.shutdown()
    }
}
