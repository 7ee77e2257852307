package org.fommtf.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The app's driver as a state machine, without Android: which driver is wanted (the front
 * camera or the bundled clip), whether the screen is started, the camera permission, and
 * where the camera is (closed, waiting for CameraX's provider, bound). Each event returns the
 * {@link Action}s the activity performs, in order.
 *
 * <ul>
 *   <li>onStop pauses inference and stops the driver; onStart resumes both.</li>
 *   <li>The bind race: a stop (or a switch to the clip) while the camera provider is still on
 *       its way leaves nothing to bind when it arrives: {@link #onProviderReady()} binds only
 *       a camera that is still wanted.</li>
 *   <li>No permission, or a camera that fails: the clip plays instead, and the screen says so.</li>
 * </ul>
 *
 * Not thread-safe: call it from the main thread.
 */
public final class DriverState {
    public enum Driver { CAMERA, CLIP }

    public enum Permission { UNKNOWN, ASKING, GRANTED, DENIED }

    public enum Camera { CLOSED, WAITING_FOR_PROVIDER, BOUND }

    public enum Action {
        /** Ask for the camera permission (the answer comes to {@link #onPermission}). */
        ASK_PERMISSION,
        /** Get CameraX's provider (then {@link #onProviderReady}). */
        OPEN_CAMERA,
        /** Bind the preview and the analysis use cases. */
        BIND_CAMERA,
        /** Unbind them, stop the analysis thread. */
        UNBIND_CAMERA,
        START_CLIP,
        STOP_CLIP,
        PAUSE_INFERENCE,
        RESUME_INFERENCE,
        /** The next frame is the reference pose (a new driver). */
        RECENTRE,
        /** Say: no camera permission, the clip plays instead. */
        SAY_NO_PERMISSION,
        /** Say: the camera failed, the clip plays instead. */
        SAY_CAMERA_FAILED,
    }

    private Driver driver;
    private Permission permission = Permission.UNKNOWN;
    private Camera camera = Camera.CLOSED;
    private boolean clipRunning;
    private boolean started;

    public DriverState(Driver initial) {
        this.driver = initial;
    }

    public Driver driver() {
        return driver;
    }

    public Camera camera() {
        return camera;
    }

    public Permission permission() {
        return permission;
    }

    public boolean started() {
        return started;
    }

    public boolean clipRunning() {
        return clipRunning;
    }

    /** The screen became visible (Activity.onStart). */
    public List<Action> onStart() {
        List<Action> out = new ArrayList<>();
        if (started) {
            return out;
        }
        started = true;
        out.add(Action.RESUME_INFERENCE);
        startDriver(out);
        return out;
    }

    /** The screen is no longer visible (Activity.onStop): nothing runs until onStart. */
    public List<Action> onStop() {
        List<Action> out = new ArrayList<>();
        if (!started) {
            return out;
        }
        started = false;
        out.add(Action.PAUSE_INFERENCE);
        stopDriver(out);
        return out;
    }

    /** The user picks a driver. */
    public List<Action> select(Driver wanted) {
        List<Action> out = new ArrayList<>();
        if (wanted == driver) {
            return out;
        }
        stopDriver(out);
        driver = wanted;
        if (wanted == Driver.CAMERA && permission == Permission.DENIED) {
            permission = Permission.UNKNOWN; // the user asks for the camera: ask again
        }
        if (started) {
            startDriver(out);
        }
        return out;
    }

    /** The answer to {@link Action#ASK_PERMISSION}. */
    public List<Action> onPermission(boolean granted) {
        List<Action> out = new ArrayList<>();
        permission = granted ? Permission.GRANTED : Permission.DENIED;
        if (!granted && driver == Driver.CAMERA) {
            driver = Driver.CLIP;
            out.add(Action.SAY_NO_PERMISSION);
        }
        if (started) {
            startDriver(out);
        }
        return out;
    }

    /** CameraX's provider arrived (after {@link Action#OPEN_CAMERA}). */
    public List<Action> onProviderReady() {
        List<Action> out = new ArrayList<>();
        if (camera == Camera.WAITING_FOR_PROVIDER && started && driver == Driver.CAMERA) {
            camera = Camera.BOUND;
            out.add(Action.BIND_CAMERA);
        } else if (camera == Camera.WAITING_FOR_PROVIDER) {
            camera = Camera.CLOSED; // stopped meanwhile: nothing to bind
        }
        return out;
    }

    /** Opening or binding the camera failed: the clip plays instead. */
    public List<Action> onCameraError() {
        List<Action> out = new ArrayList<>();
        if (camera == Camera.BOUND) {
            out.add(Action.UNBIND_CAMERA);
        }
        camera = Camera.CLOSED;
        if (driver == Driver.CAMERA) {
            driver = Driver.CLIP;
            out.add(Action.SAY_CAMERA_FAILED);
            if (started) {
                startDriver(out);
            }
        }
        return out;
    }

    private void startDriver(List<Action> out) {
        if (driver == Driver.CLIP) {
            if (!clipRunning) {
                clipRunning = true;
                out.add(Action.RECENTRE);
                out.add(Action.START_CLIP);
            }
            return;
        }
        switch (permission) {
            case UNKNOWN:
                permission = Permission.ASKING;
                out.add(Action.ASK_PERMISSION);
                return;
            case ASKING:
                return; // the answer will come
            case DENIED:
                driver = Driver.CLIP;
                out.add(Action.SAY_NO_PERMISSION);
                startDriver(out);
                return;
            default:
                break;
        }
        if (camera == Camera.CLOSED) {
            camera = Camera.WAITING_FOR_PROVIDER;
            out.add(Action.RECENTRE);
            out.add(Action.OPEN_CAMERA);
        }
    }

    private void stopDriver(List<Action> out) {
        if (camera == Camera.BOUND) {
            out.add(Action.UNBIND_CAMERA);
        }
        camera = Camera.CLOSED; // a provider still on its way finds nothing to bind
        if (clipRunning) {
            clipRunning = false;
            out.add(Action.STOP_CLIP);
        }
    }
}
